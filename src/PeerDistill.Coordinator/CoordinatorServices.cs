using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Coordinator;

/// <summary>Registers and maps the coordinator's gRPC services (WorkerRegistry, CohortService) over one <see cref="CoordinatorState"/>.</summary>
public static class CoordinatorServices
{
    /// <summary>
    /// Adds one <see cref="CoordinatorState"/> with <paramref name="options"/> (logging to
    /// <paramref name="loggers"/>, else to the host's log) and both services over it.
    /// </summary>
    public static IServiceCollection AddCoordinatorServices(this IServiceCollection services, CoordinatorOptions options, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(sp => new CoordinatorState(options, (loggers ?? sp.GetRequiredService<ILoggerFactory>()).CreateLogger<CoordinatorState>()));
        services.AddSingleton<WorkerRegistryService>();
        services.AddSingleton<CohortApiService>();
        return services;
    }

    /// <summary>Maps <c>peerdistill.v1.WorkerRegistry</c> and <c>peerdistill.v1.CohortService</c>.</summary>
    public static IEndpointRouteBuilder MapCoordinatorServices(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<WorkerRegistryService>();
        endpoints.MapGrpcService<CohortApiService>();
        return endpoints;
    }
}
