namespace PeerDistill.Cluster.Hosting;

/// <summary>A silo refused to start a peer; the message says why (the peer, the field or directory, the slot).</summary>
[GenerateSerializer]
public sealed class PeerStartException : Exception
{
    public PeerStartException()
    {
    }

    public PeerStartException(string message)
        : base(message)
    {
    }

    public PeerStartException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
