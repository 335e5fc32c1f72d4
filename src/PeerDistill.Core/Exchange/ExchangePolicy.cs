using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Exchange;

/// <summary>
/// What a peer distils from at a step, whatever carries the logits (in memory or over gRPC): the
/// one place for the rules of <c>exchange.*</c>.
/// <list type="bullet">
/// <item>Synchronous (<see cref="MaxStaleness"/> 0): wait for the step's logits of every teacher
/// that is awaited, at most <see cref="StepTimeout"/>; go on with the teachers present once none is
/// awaited or the deadline passed, but never with fewer than the quorum of the teachers that could
/// still be had.</item>
/// <item>Bounded staleness (k &gt; 0): never wait; each teacher's freshest logits of a step in
/// [s - k, s] (the step loop distils those on the batch they were computed on).</item>
/// </list>
/// </summary>
/// <param name="StepTimeout">How long a synchronous gather waits for awaited teachers.</param>
/// <param name="Quorum">The fewest teachers that must be present (of those that could be) for a peer to step.</param>
/// <param name="MaxStaleness">0: synchronous; k &gt; 0: bounded staleness of k steps.</param>
public sealed record ExchangePolicy(TimeSpan StepTimeout, int Quorum, int MaxStaleness)
{
    /// <summary>How often a waiting gather looks again even when nothing woke it (a teacher's state may change elsewhere).</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The policy of a spec's <c>exchange</c> section.</summary>
    public static ExchangePolicy From(ExchangeSpec exchange)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        return new ExchangePolicy(
            TimeSpan.FromSeconds(exchange.StepTimeoutSeconds),
            exchange.Quorum,
            exchange.Mode == ExchangeSpec.BoundedStaleness ? Math.Max(1, exchange.MaxStaleness) : 0);
    }

    public bool IsSynchronous => MaxStaleness == 0;

    /// <summary>The oldest step whose logits a learner at <paramref name="step"/> may use.</summary>
    public long OldestUsable(long step) => Math.Max(0, step - MaxStaleness);

    /// <summary>
    /// Whether a synchronous gather may step now with the teachers present, given each teacher's
    /// availability and whether its deadline has passed.
    /// </summary>
    public bool MayStep(IReadOnlyCollection<TeacherAvailability> teachers, bool pastDeadline)
    {
        ArgumentNullException.ThrowIfNull(teachers);
        int present = 0, awaited = 0, possible = 0;
        foreach (var t in teachers)
        {
            switch (t)
            {
                case TeacherAvailability.Present:
                    present++;
                    possible++;
                    break;
                case TeacherAvailability.Awaited:
                    awaited++;
                    possible++;
                    break;
                case TeacherAvailability.Missing:
                    possible++;
                    break;
            }
        }

        return present >= Math.Min(Quorum, possible) && (awaited == 0 || pastDeadline);
    }

    /// <summary>How long a waiting gather sleeps before it looks again (the deadline or <see cref="RecheckInterval"/>, whichever is first).</summary>
    public static TimeSpan NextCheck(DateTime deadline, DateTime now)
    {
        var remaining = deadline - now;
        return remaining > TimeSpan.Zero && remaining < RecheckInterval ? remaining : RecheckInterval;
    }
}
