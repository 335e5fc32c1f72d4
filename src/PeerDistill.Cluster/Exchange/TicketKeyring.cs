namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The cluster's exchange ticket key as this process holds it: set once, when the process first
/// needs it (a worker before it starts its first peer, from the cluster's key grain). Never logged.
/// </summary>
public sealed class TicketKeyring
{
    private TicketCodec? _codec;

    /// <summary>The codec over the cluster's key; null until it is known here.</summary>
    public TicketCodec? Codec => Volatile.Read(ref _codec);

    /// <summary>Whether the key is known here.</summary>
    public bool HasKey => Codec is not null;

    /// <summary>Takes the cluster's key (a second call keeps the first: the cluster has one key).</summary>
    public void Set(ReadOnlySpan<byte> key)
    {
        var codec = new TicketCodec(key);
        Interlocked.CompareExchange(ref _codec, codec, null);
    }
}
