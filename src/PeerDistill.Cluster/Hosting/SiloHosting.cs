using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Hosting;

/// <summary>Adds a PeerDistill silo to a process's host (the coordinator's and the workers').</summary>
public static class SiloHosting
{
    /// <summary>The silo of <paramref name="settings"/>, with Orleans' and ASP.NET Core's own logs at warnings and worse.</summary>
    public static void AddSilo(this WebApplicationBuilder host, SiloSettings settings)
    {
        ArgumentNullException.ThrowIfNull(host);
        host.Logging.AddFilter("Orleans", LogLevel.Warning);
        host.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        host.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        host.Logging.AddFilter("Microsoft", LogLevel.Warning);
        host.Logging.AddFilter("Grpc", LogLevel.Warning);
        host.Logging.AddFilter("Polly", LogLevel.Warning);
        host.UseOrleans(silo => silo.AddPeerDistill(settings));
    }
}
