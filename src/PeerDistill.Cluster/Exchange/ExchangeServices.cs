using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Exchange;

/// <summary>Registers and maps <c>peerdistill.v1.PeerExchange</c> over an <see cref="ExchangeRegistry"/>.</summary>
public static class ExchangeServices
{
    /// <summary>Adds one <see cref="PeerExchangeService"/> over <paramref name="registry"/>, logging refusals to <paramref name="logger"/>.</summary>
    public static IServiceCollection AddPeerExchange(this IServiceCollection services, ExchangeRegistry registry, ILogger logger) =>
        services.AddSingleton(new PeerExchangeService(registry, logger));

    /// <summary>Adds one <see cref="PeerExchangeService"/> over <paramref name="registry"/>, its logger made from the container.</summary>
    public static IServiceCollection AddPeerExchange(this IServiceCollection services, ExchangeRegistry registry, Func<IServiceProvider, ILogger> logger) =>
        services.AddSingleton(sp => new PeerExchangeService(registry, logger(sp)));

    /// <summary>Maps <c>peerdistill.v1.PeerExchange</c>.</summary>
    public static IEndpointRouteBuilder MapPeerExchange(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<PeerExchangeService>();
        return endpoints;
    }
}
