namespace PeerDistill.Cluster.Cohorts;

/// <summary>
/// A peer's answer when its cohort asks it to hold before a step: whether it promised (it will not
/// start that step until the cohort commits or releases), the furthest step it had started (-1
/// before the first), and, when its generation does not run there, why.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HoldReply(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] long StartedStep,
    [property: Id(2)] string Message);
