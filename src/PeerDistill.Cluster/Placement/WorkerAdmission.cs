namespace PeerDistill.Cluster.Placement;

/// <summary>The slot board's answer to a worker silo that joins: admitted, or refused because a live silo holds its id.</summary>
/// <param name="Admitted">Whether the silo may host peers under that id.</param>
/// <param name="Holder">When refused: the silo (parsable address) that holds the id.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerAdmission(
    [property: Id(0)] bool Admitted,
    [property: Id(1)] string? Holder = null);
