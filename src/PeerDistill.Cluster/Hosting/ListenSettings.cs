using System.Net;

namespace PeerDistill.Cluster.Hosting;

/// <summary>The checks a coordinator's and a worker's settings share: where they listen and which cluster they form.</summary>
public static class ListenSettings
{
    /// <summary>Each problem of a listen address, two ports (0 picks a free one) and a cluster id, under the given keys.</summary>
    public static IEnumerable<(string Key, string Message)> Problems((string Key, string Value) host, (string Key, int Value) port, (string Key, int Value) clusterPort, (string Key, string Value) clusterId, string clusterIdHint)
    {
        if (!IPAddress.TryParse(host.Value, out _))
        {
            yield return (host.Key, $"'{host.Value}' is not an IP address");
        }

        foreach (var (key, value) in new[] { port, clusterPort })
        {
            if (value is < 0 or > 65535)
            {
                yield return (key, $"{value} is not a port (0 to 65535; 0 picks a free one)");
            }
        }

        if (string.IsNullOrWhiteSpace(clusterId.Value))
        {
            yield return (clusterId.Key, $"is empty; {clusterIdHint}");
        }
    }

    /// <summary>Whether <paramref name="host"/> is an address beyond loopback (<c>0.0.0.0</c> included).</summary>
    public static bool IsExposed(string host) => IPAddress.TryParse(host, out var address) && !IPAddress.IsLoopback(address);

    /// <summary>
    /// A process bound beyond loopback is reachable by anyone on the network: refused unless
    /// <paramref name="insecure"/> says the network is trusted, or <paramref name="tls"/> protects every
    /// connection it serves (mutual TLS between silos and on the exchange; on the coordinator's API, TLS
    /// with the callers' tokens). Null when the address is loopback (or not an address:
    /// <see cref="Problems"/> says so) or the exposure is accepted.
    /// </summary>
    public static (string Key, string Message)? ExposureProblem((string Key, string Value) host, bool insecure, bool tls) =>
        insecure || tls || !IsExposed(host.Value)
            ? null
            : (host.Key, $"'{host.Value}' is not a loopback address, and the cluster's connections are neither authenticated nor encrypted: whoever reaches it could join the cluster, command it or send its peers frames. Listen on 127.0.0.1, give the node its certificates (--tls-cert, --tls-key, --tls-ca), or accept that on a network you trust with --insecure (Insecure: true)");
}
