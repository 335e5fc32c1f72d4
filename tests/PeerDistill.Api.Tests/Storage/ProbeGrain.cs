using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Api.Tests.Storage;

public sealed class ProbeGrain([PersistentState("probe", ClusterDatabase.GrainStorageName)] IPersistentState<ProbeState> state) : Grain, IProbeGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public async Task<string?> Write(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
        return state.Etag;
    }

    public Task<(string? Value, string? ETag, Guid Activation)> Read() => Task.FromResult((state.RecordExists ? state.State.Value : null, state.Etag, _activation));

    public Task Clear() => state.ClearStateAsync();

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
