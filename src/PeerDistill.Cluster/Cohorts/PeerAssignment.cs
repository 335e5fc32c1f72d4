namespace PeerDistill.Cluster.Cohorts;

/// <summary>Everything a peer grain needs to start one generation of its peer (sent once per activation).</summary>
[GenerateSerializer, Immutable]
public sealed record PeerAssignment
{
    [Id(0)] public required string Cohort { get; init; }

    [Id(1)] public required string Run { get; init; }

    [Id(2)] public required string Peer { get; init; }

    /// <summary>The generation to start (1 for the first activation, +1 for every re-activation).</summary>
    [Id(3)] public required ulong Generation { get; init; }

    /// <summary>The cohort spec as submitted.</summary>
    [Id(4)] public required string SpecText { get; init; }

    /// <summary><c>yaml</c> or <c>json</c>.</summary>
    [Id(5)] public required string SpecFormat { get; init; }

    /// <summary>Where the peer writes metrics.&lt;peer&gt;.jsonl (under the cluster's output root).</summary>
    [Id(6)] public required string OutputDirectory { get; init; }

    /// <summary>Where the peer writes and reads checkpoints (under the cluster's checkpoint root).</summary>
    [Id(7)] public required string CheckpointDirectory { get; init; }

    /// <summary>The checkpoint step to resume from; null to start from scratch.</summary>
    [Id(8)] public long? ResumeFromStep { get; init; }

    /// <summary>Where the other peers of the run are now.</summary>
    [Id(9)] public IReadOnlyList<PeerEndpoint> Peers { get; init; } = [];

    /// <summary>The live changes of the run so far, each at its step (the spec's own changes are in the spec).</summary>
    [Id(10)] public IReadOnlyList<Core.Spec.CohortChange> Changes { get; init; } = [];

    /// <summary>Whether it waits until every teacher is placed before its first step (a fresh start always does; a resume after a pause too).</summary>
    [Id(11)] public bool WaitForCohort { get; init; }

    /// <summary>
    /// This generation's exchange ticket (<see cref="Exchange.TicketCodec"/>): every Exchange stream
    /// the peer opens carries it. A credential: never logged.
    /// </summary>
    [Id(12)] public string Ticket { get; init; } = string.Empty;

    /// <summary>The W3C traceparent of the run's span (its peers' activation spans are its children); empty when the run was not traced.</summary>
    [Id(13)] public string TraceParent { get; init; } = string.Empty;

    /// <summary>For messages: never the ticket.</summary>
    public override string ToString() => $"PeerAssignment {{ Cohort = {Cohort}, Run = {Run}, Peer = {Peer}, Generation = {Generation} }}";
}
