using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>A PeerExchange served over <see cref="ExchangeRegistry"/> on a free loopback port, as a worker serves it (without the silo).</summary>
internal sealed class ExchangeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ExchangeServer(WebApplication app)
    {
        _app = app;
        Address = app.GrpcAddress();
    }

    public Uri Address { get; }

    /// <summary>Serves on <paramref name="host"/> (loopback unless given), checking tickets' expiry by <paramref name="time"/> (the system's clock unless given).</summary>
    public static async Task<ExchangeServer> StartAsync(ExchangeRegistry registry, string host = "127.0.0.1", TimeProvider? time = null)
    {
        var builder = GrpcHosting.CreateBuilder();
        builder.AddPeerDistillGrpc(grpc => grpc.Host = host);
        builder.Services.AddSingleton(new PeerExchangeService(registry, NullLogger.Instance, time ?? TimeProvider.System)).AddLoopbackOnlyReflection();
        var app = builder.Build();
        app.MapPeerDistillGrpc();
        app.MapPeerExchange();
        await app.StartAsync();
        return new ExchangeServer(app);
    }

    public async ValueTask DisposeAsync() => await _app.StopAndDisposeAsync(TimeSpan.FromSeconds(5));
}
