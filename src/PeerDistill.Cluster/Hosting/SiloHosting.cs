using Microsoft.Extensions.Hosting;

namespace PeerDistill.Cluster.Hosting;

/// <summary>Adds a PeerDistill silo to a process's host (the coordinator's; a worker's comes with <see cref="WorkerHosting.AddPeerDistillWorker"/>).</summary>
public static class SiloHosting
{
    /// <summary>The silo of <paramref name="settings"/>.</summary>
    public static IHostApplicationBuilder AddPeerDistillSilo(this IHostApplicationBuilder host, SiloSettings settings)
    {
        ArgumentNullException.ThrowIfNull(host);
        host.UseOrleans(silo => silo.AddPeerDistill(settings));
        return host;
    }
}
