using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Security;

/// <summary>Registers a process's TLS credentials: every TLS endpoint and client of the process then uses them.</summary>
public static class ClusterTlsServices
{
    /// <summary>
    /// <see cref="ClusterCredentials"/> over the files of <paramref name="files"/> (all three named and
    /// checked), and the <see cref="TlsRefusals"/> they count refusals in; the silo connections, the
    /// gRPC and REST listeners and the exchange's client connections find them here. Once per process.
    /// </summary>
    public static IServiceCollection AddClusterCredentials(this IServiceCollection services, ClusterTlsOptions files)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(files);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TlsRefusals>();
        services.TryAddSingleton(sp => new ClusterCredentials(files, sp.GetRequiredService<TlsRefusals>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ClusterCredentials>>()));
        return services;
    }
}
