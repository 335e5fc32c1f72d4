using System.Net;
using System.Net.Sockets;

namespace PeerDistill.Cluster.Hosting;

/// <summary>A free TCP port, for endpoints that must be known before they are bound (an Orleans silo's; a PeerExchange address published to other silos).</summary>
public static class FreePort
{
    /// <summary><paramref name="port"/> itself, or, for 0, a port the system says is free on <paramref name="address"/> now.</summary>
    public static int Resolve(IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (port != 0)
        {
            return port;
        }

        using var listener = new TcpListener(address, 0);
        listener.Start();
        var chosen = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return chosen;
    }
}
