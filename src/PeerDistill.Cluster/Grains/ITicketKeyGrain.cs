namespace PeerDistill.Cluster.Grains;

/// <summary>
/// The cluster's exchange ticket key (one grain, key <see cref="Key"/>): 32 random bytes made at
/// the cluster's first need and kept in the cluster's grain storage, so that a restarted
/// coordinator (or a cohort grain that moved) signs and checks with the same key. Silos ask it once
/// and keep the key in their <see cref="Exchange.TicketKeyring"/>; it never leaves the cluster.
/// </summary>
public interface ITicketKeyGrain : IGrainWithStringKey
{
    public const string Key = "exchange-tickets";

    /// <summary>The key (made and stored on the first call ever).</summary>
    Task<byte[]> KeyAsync();
}
