namespace PeerDistill.Api.Tests.Storage;

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)]
    public string? Value { get; set; }
}
