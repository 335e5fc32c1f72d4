namespace PeerDistill.Api.Storage;

/// <summary>
/// Which metrics rows of a run to read. With <see cref="MaxPointsPerPeer"/> = N, each peer's rows
/// in the range (n of them) are thinned to at most N by keeping every k-th row in step order,
/// starting with the first, where k = ceil((n - 1) / (N - 1)) (k = n for N = 1): real recorded
/// rows, never averages.
/// </summary>
/// <param name="Peers">Only these peers; null or empty: all.</param>
/// <param name="FromStep">Only steps at or after this; null: from the first.</param>
/// <param name="ToStep">Only steps at or before this; null: to the last.</param>
/// <param name="MaxPointsPerPeer">At most this many rows per peer (1 to <see cref="MaxPoints"/>); null: all.</param>
internal sealed record MetricsQuery(IReadOnlyCollection<string>? Peers = null, long? FromStep = null, long? ToStep = null, int? MaxPointsPerPeer = null)
{
    /// <summary>The most rows per peer one query may ask for.</summary>
    public const int MaxPoints = 100_000;
}
