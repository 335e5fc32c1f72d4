namespace PeerDistill.Core.Runner;

/// <summary>The end of one run of a cohort (the distilled run or its baseline).</summary>
public sealed record RunResult(
    string Run,
    string Strategy,
    IReadOnlyList<PeerOutcome> Peers,
    double? EnsembleAccuracy,
    double WallSeconds,
    double SamplesPerSecond,
    long ResumedFromStep)
{
    public bool Interrupted => Peers.Any(p => p.Status == PeerStatus.Interrupted);
}
