using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// The named listeners of a process's Kestrel server (<see cref="Grpc"/>, and the coordinator's REST
/// listener), so that the address of each is known exactly once the server has started, including
/// the port it picked for a listener asked to bind port 0.
/// </summary>
public sealed class ServerListeners
{
    /// <summary>The gRPC listener (HTTP/2) of every process.</summary>
    public const string Grpc = "grpc";

    private readonly object _gate = new();
    private readonly Dictionary<string, (ListenOptions Options, bool Tls)> _listeners = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="options"/> as the listener <paramref name="name"/>.</summary>
    public void Add(string name, ListenOptions options, bool tls)
    {
        lock (_gate)
        {
            _listeners[name] = (options, tls);
        }
    }

    /// <summary>
    /// Where clients reach the listener <paramref name="name"/> of the started server, e.g.
    /// <c>http://127.0.0.1:41234</c> (loopback for a listener on every interface).
    /// </summary>
    public Uri Address(string name)
    {
        (ListenOptions Options, bool Tls) listener;
        lock (_gate)
        {
            if (!_listeners.TryGetValue(name, out listener))
            {
                throw new InvalidOperationException($"this process has no '{name}' listener (known: {string.Join(", ", _listeners.Keys)})");
            }
        }

        var endpoint = listener.Options.IPEndPoint ?? throw new InvalidOperationException($"the '{name}' listener is not an IP endpoint");
        if (endpoint.Port == 0)
        {
            throw new InvalidOperationException($"the '{name}' listener is not bound yet (start the host first)");
        }

        var host = endpoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endpoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endpoint.Address;
        var shown = host.ToString();
        return new UriBuilder(listener.Tls ? "https" : "http", shown.Contains(':') ? "[" + shown + "]" : shown, endpoint.Port).Uri;
    }
}
