using Orleans.Storage;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

/// <summary>The cluster's ticket key, on a silo that holds the cluster's database (as cohort grains are).</summary>
[WorkerPlacement]
internal sealed class TicketKeyGrain(
    [PersistentState("ticket-key", ClusterDatabase.GrainStorageName)] IPersistentState<TicketKeyState> state) : Grain, ITicketKeyGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Key.Length == TicketCodec.KeyLength)
        {
            return;
        }

        state.State.Key = TicketCodec.NewKey();
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (InconsistentStateException)
        {
            // Another activation stored its key first: that one is the cluster's.
            await state.ReadStateAsync(cancellationToken);
            if (state.State.Key.Length != TicketCodec.KeyLength)
            {
                throw new InvalidOperationException("the cluster's stored exchange ticket key is not a key");
            }
        }
    }

    public Task<byte[]> KeyAsync() => Task.FromResult(state.State.Key.ToArray());
}

/// <summary>The stored ticket key.</summary>
[GenerateSerializer]
public sealed class TicketKeyState
{
    [Id(0)] public byte[] Key { get; set; } = [];
}

/// <summary>Fetching the cluster's key into a silo's keyring.</summary>
internal static class TicketKeys
{
    /// <summary>The keyring's codec, asking the cluster's key grain first if the key is not known here yet.</summary>
    public static async Task<TicketCodec> CodecAsync(this TicketKeyring keyring, IGrainFactory grains)
    {
        if (keyring.Codec is { } known)
        {
            return known;
        }

        keyring.Set(await grains.GetGrain<ITicketKeyGrain>(ITicketKeyGrain.Key).KeyAsync());
        return keyring.Codec!;
    }
}
