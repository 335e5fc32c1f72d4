namespace PeerDistill.Cluster.Exchange;

/// <summary>Where a teacher stands for a learner's step, as the receiving worker sees it (see <see cref="ExchangeHub"/>'s waiting rules).</summary>
internal enum TeacherView
{
    /// <summary>Its logits of the step are here.</summary>
    Present,

    /// <summary>Live, and its logits of the step may still come: waited for, at most the step timeout.</summary>
    Awaited,

    /// <summary>Not placed now (lost, being re-activated): counted towards the quorum, not waited for until the timeout.</summary>
    Missing,

    /// <summary>Live but more than one frame behind the step (catching up after a re-activation): counted like a missing teacher.</summary>
    Behind,

    /// <summary>Done for good, or past the step: it will never send logits of it.</summary>
    Ahead,

    /// <summary>Past the step timeout: it sent its logits of the step, and they did not arrive.</summary>
    Lost,
}
