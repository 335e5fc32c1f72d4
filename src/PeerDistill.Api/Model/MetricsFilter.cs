namespace PeerDistill.Api.Model;

/// <summary>Which rows of a run's metrics history to read.</summary>
/// <param name="Peers">Only these peers; empty: every peer.</param>
/// <param name="FromStep">Only steps at or after this.</param>
/// <param name="ToStep">Only steps at or before this.</param>
/// <param name="MaxPointsPerPeer">At most this many rows per peer (every k-th recorded row is kept, from the first; never averages).</param>
public sealed record MetricsFilter(IReadOnlyList<string> Peers, long FromStep, long ToStep, int MaxPointsPerPeer)
{
    /// <summary>The most peers one query may name.</summary>
    public const int MaxPeers = 64;

    /// <summary>The most rows per peer one query may ask for.</summary>
    public const int MaxPoints = 100_000;
}
