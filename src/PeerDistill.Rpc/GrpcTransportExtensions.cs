using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerDistill.Rpc.Internal;

namespace PeerDistill.Rpc;

/// <summary>Registers the gRPC transport with ASP.NET Core (Kestrel) and maps services on it.</summary>
public static class GrpcTransportExtensions
{
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, object> FallbackMapped = [];

    /// <summary>Adds the gRPC server transport and its options.</summary>
    public static IServiceCollection AddGrpcTransport(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        services.AddRouting();
        var builder = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return services;
    }

    /// <summary>
    /// Maps every method of <paramref name="service"/> at <c>/{service}/{method}</c>. Requests for
    /// methods nobody mapped get Unimplemented, as gRPC clients expect.
    /// </summary>
    public static IEndpointRouteBuilder MapGrpcService(this IEndpointRouteBuilder endpoints, ServerServiceDefinition service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("PeerDistill.Rpc.Server");
        foreach (var binding in service.Methods)
        {
            endpoints.Map(binding.Method.FullName, http => binding.HandleAsync(http, options, logger))
                .WithDisplayName("gRPC " + binding.Method.FullName);
        }

        if (!FallbackMapped.TryGetValue(endpoints, out _))
        {
            FallbackMapped.Add(endpoints, new object());
            endpoints.MapFallback(async http =>
            {
                if (!await ProtocolChecks.AcceptAsync(http, logger).ConfigureAwait(false))
                {
                    return;
                }

                await ProtocolChecks.RefuseAsync(http, logger, StatusCodes.Status200OK, StatusCode.Unimplemented, $"Method '{http.Request.Path}' is not implemented by this server.").ConfigureAwait(false);
            }).WithDisplayName("gRPC unimplemented");
        }

        return endpoints;
    }
}
