namespace PeerDistill.Api.Rest;

/// <summary>What the coordinator runs.</summary>
/// <param name="Version">PeerDistill's version.</param>
/// <param name="Api">The REST API's version (the path prefix).</param>
/// <param name="Runtime">The .NET runtime.</param>
/// <param name="Orleans">The Orleans version of the cluster.</param>
public sealed record VersionResource(string Version, string Api, string Runtime, string Orleans);
