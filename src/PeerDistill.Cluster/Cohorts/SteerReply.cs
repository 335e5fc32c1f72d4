namespace PeerDistill.Cluster.Cohorts;

/// <summary>A cohort grain's answer to a pause, resume or live change: how it went, why (when refused), and the step it holds at.</summary>
[GenerateSerializer, Immutable]
public sealed record SteerReply(
    [property: Id(0)] SteerOutcome Outcome,
    [property: Id(1)] string Message,
    [property: Id(2)] long Step);
