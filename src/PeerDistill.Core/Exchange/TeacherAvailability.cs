namespace PeerDistill.Core.Exchange;

/// <summary>Where a teacher's logits for a learner's step stand, as a transport sees it.</summary>
public enum TeacherAvailability
{
    /// <summary>Its logits of the step (or, with bounded staleness, of a step recent enough) are here.</summary>
    Present,

    /// <summary>Live, and its logits of the step may still come: worth waiting for.</summary>
    Awaited,

    /// <summary>Not live now (lost, being re-activated) but not done: it counts towards the quorum's possible teachers, not waited for.</summary>
    Missing,

    /// <summary>Done for good, or past the step (it will never send it): neither waited for nor counted.</summary>
    Gone,
}
