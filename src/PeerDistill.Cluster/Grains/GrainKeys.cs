namespace PeerDistill.Cluster.Grains;

/// <summary>The keys of cohort and peer grains (names are letters, digits, '-', '_' and, in run ids, '.': '/' separates).</summary>
public static class GrainKeys
{
    public static string Cohort(string cohort, string run) => $"{cohort}/{run}";

    public static string Peer(string cohort, string run, string peer) => $"{cohort}/{run}/{peer}";

    /// <summary>(cohort, run, peer) of a peer grain key.</summary>
    public static (string Cohort, string Run, string Peer) ParsePeer(string key)
    {
        var parts = key.Split('/');
        return parts.Length == 3 ? (parts[0], parts[1], parts[2]) : throw new ArgumentException($"'{key}' is not a peer grain key (cohort/run/peer)", nameof(key));
    }
}
