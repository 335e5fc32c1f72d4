namespace PeerDistill.Api.Rest;

/// <summary>The workers of the cluster, by id.</summary>
/// <param name="Workers">Every worker silo now.</param>
public sealed record WorkerList(IReadOnlyList<WorkerResource> Workers);
