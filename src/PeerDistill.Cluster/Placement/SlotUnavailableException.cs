namespace PeerDistill.Cluster.Placement;

/// <summary>No silo of the cluster has a free slot of the device a peer asks for (the peer waits, and is placed again later).</summary>
[GenerateSerializer]
public sealed class SlotUnavailableException : Exception
{
    public SlotUnavailableException()
    {
    }

    public SlotUnavailableException(string message)
        : base(message)
    {
    }

    public SlotUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
