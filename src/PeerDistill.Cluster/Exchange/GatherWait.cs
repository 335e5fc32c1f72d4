namespace PeerDistill.Cluster.Exchange;

/// <summary>What a peer waits for: the step, since when (UTC), and each teacher it lacks, described for a person.</summary>
/// <param name="Step">The step it waits at.</param>
/// <param name="Since">When it began to wait (UTC).</param>
/// <param name="Teachers">Each teacher it lacks and why, for a person.</param>
/// <param name="Published">Whether it has published its own logits of <paramref name="Step"/> (true in a gather; false while a fresh peer waits for its cohort to be placed).</param>
public sealed record GatherWait(long Step, DateTime Since, IReadOnlyList<string> Teachers, bool Published = true);
