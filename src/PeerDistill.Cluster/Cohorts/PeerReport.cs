namespace PeerDistill.Cluster.Cohorts;

/// <summary>The latest of what one generation of a peer did, sent by its peer grain to its cohort grain.</summary>
[GenerateSerializer, Immutable]
public sealed record PeerReport
{
    [Id(0)] public required string Peer { get; init; }

    [Id(1)] public required ulong Generation { get; init; }

    /// <summary>The silo the report comes from (Orleans address, parsable form): only the one the generation was placed on is heard.</summary>
    [Id(2)] public required string Silo { get; init; }

    [Id(3)] public required PeerState State { get; init; }

    /// <summary>Training steps completed so far.</summary>
    [Id(4)] public long Step { get; init; }

    [Id(5)] public long TotalSteps { get; init; }

    /// <summary>Total loss of the last step (nats per sample); 0 before the first step.</summary>
    [Id(6)] public double Loss { get; init; }

    [Id(7)] public double? Accuracy { get; init; }

    [Id(8)] public string Message { get; init; } = string.Empty;

    /// <summary>Steps completed by the checkpoint this generation wrote on its way out (or last), if any.</summary>
    [Id(9)] public long? CheckpointStep { get; init; }

    /// <summary>The step at which it is blocked now, waiting for its teachers (it has published its own logits of it); null when it is not waiting.</summary>
    [Id(10)] public long? WaitingAtStep { get; init; }

    /// <summary>How long it has waited at <see cref="WaitingAtStep"/>, in seconds (as its worker measures it).</summary>
    [Id(11)] public double WaitedSeconds { get; init; }

    /// <summary>The mean time of its steps since its last report (seconds); null before its first step.</summary>
    [Id(12)] public double? StepSeconds { get; init; }

    /// <summary>The mean time those steps waited for teachers (seconds); null when none gathered.</summary>
    [Id(13)] public double? ExchangeWaitSeconds { get; init; }
}
