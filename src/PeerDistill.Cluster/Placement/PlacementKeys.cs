namespace PeerDistill.Cluster.Placement;

/// <summary>The request-context keys a caller sets before the call that activates a peer grain; the slot placement director reads them.</summary>
public static class PlacementKeys
{
    /// <summary>The device the peer's spec asks for (<c>cpu</c>, <c>cuda:N</c>).</summary>
    public const string Device = "peerdistill.device";

    /// <summary>The name of a silo to use only when no other has a free slot (the one that interrupted the peer).</summary>
    public const string AvoidWorker = "peerdistill.avoid";
}
