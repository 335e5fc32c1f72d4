namespace PeerDistill.Cluster.Cohorts;

/// <summary>A validated cohort spec with its run id and confined directories: what starts a cohort grain.</summary>
[GenerateSerializer, Immutable]
public sealed record CohortSubmission
{
    [Id(0)] public required string Cohort { get; init; }

    [Id(1)] public required string Run { get; init; }

    [Id(2)] public required string SpecText { get; init; }

    [Id(3)] public required string SpecFormat { get; init; }

    [Id(4)] public required string Strategy { get; init; }

    [Id(5)] public required string OutputDirectory { get; init; }

    [Id(6)] public required string CheckpointDirectory { get; init; }

    [Id(7)] public required int KeepLast { get; init; }

    /// <summary>The peers in the order of the spec: name, model, device.</summary>
    [Id(8)] public required IReadOnlyList<SubmittedPeer> Peers { get; init; }

    [Id(9)] public required long CreatedUnixMillis { get; init; }

    [Id(10)] public int MaxEvents { get; init; } = 500;
}

/// <summary>One peer of a submission.</summary>
[GenerateSerializer, Immutable]
public sealed record SubmittedPeer(
    [property: Id(0)] string Name,
    [property: Id(1)] string Model,
    [property: Id(2)] string Device);
