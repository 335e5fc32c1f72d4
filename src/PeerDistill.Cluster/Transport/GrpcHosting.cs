using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Transport.Internal;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// How every PeerDistill process serves gRPC (coordinator, workers, tests, benches), on
/// Grpc.AspNetCore: <see cref="CreateBuilder"/> makes the host, <see cref="AddPeerDistillGrpc"/>
/// adds a Kestrel listener on <see cref="GrpcServiceHostOptions"/> (h2c, HTTP/2 only; TLS with ALPN h2
/// and http/1.1 when the process has cluster credentials, <see cref="ClusterTlsListener"/>), gRPC with the framing checks, the gRPC health checking service
/// (<c>grpc.health.v1.Health</c>, SERVING while the process runs) and server reflection, so that
/// grpcurl-style tools and Kubernetes gRPC probes work on every process; <see cref="MapPeerDistillGrpc"/>
/// maps them. Request bytes that break gRPC's framing or are no message of the method end the call with
/// RESOURCE_EXHAUSTED (a message beyond the receive limit) or INTERNAL, and one Warning line.
/// </summary>
public static class GrpcHosting
{
    /// <summary>The name of the health check every process registers (healthy while the server runs).</summary>
    public const string ServingCheck = "serving";

    /// <summary>
    /// A web host for a PeerDistill process: single-line console logs from <paramref name="minimumLogLevel"/>
    /// (Orleans', ASP.NET Core's and gRPC's own categories at warnings and worse), no configuration
    /// reload (the default watches the working directory tree, where a worker writes checkpoints and
    /// metrics all the time), and no signal handling (Ctrl-C and SIGTERM belong to the process, which
    /// stops its work in its own order first and then the host).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(LogLevel minimumLogLevel = LogLevel.Warning)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(minimumLogLevel);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, ProcessOwnedLifetime>();
        return builder;
    }

    /// <summary>
    /// Serves gRPC on the listener of <see cref="GrpcServiceHostOptions"/> (as <paramref name="configure"/>
    /// sets them: a role's extension sets them from its own options), with health and
    /// reflection. Services are added by the caller and mapped after <see cref="MapPeerDistillGrpc"/>.
    /// </summary>
    public static IHostApplicationBuilder AddPeerDistillGrpc(this IHostApplicationBuilder builder, Action<GrpcServiceHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<GrpcServiceHostOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<ServerListeners>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, GrpcListenerSetup>());
        builder.Services.AddSingleton<RequestMessages>().AddSingleton<MalformedMessageInterceptor>();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.EnableDetailedErrors = false;
            grpc.Interceptors.Add<MalformedMessageInterceptor>();
        });
        builder.Services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>()
            .Configure<IOptions<GrpcServiceHostOptions>>((grpc, host) => grpc.MaxReceiveMessageSize = host.Value.MaxReceiveMessageSize);
        // One check: the process is up and serving its calls. (With no check at all the health service
        // answers UNKNOWN; processes with more to say add their own checks.)
        builder.Services.AddGrpcHealthChecks().AddCheck(ServingCheck, () => HealthCheckResult.Healthy("serving gRPC"));
        builder.Services.AddGrpcReflection();
        return builder;
    }

    /// <summary>Routing, the request-bytes check in front of every gRPC endpoint, health and reflection.</summary>
    public static WebApplication MapPeerDistillGrpc(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRouting();
        // Between routing and the gRPC endpoint: every call's request bytes are checked as they are read.
        app.UseMiddleware<MalformedRequestMiddleware>();
        // Health is open to every caller (probes), also where the process requires credentials.
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>Stops a host, waiting at most <paramref name="timeout"/> for its work in flight, and disposes it.</summary>
    public static async Task StopAndDisposeAsync(this WebApplication app, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            using var limit = new CancellationTokenSource(timeout);
            await app.StopAsync(limit.Token).ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops and disposes a host whose start failed part way (a port taken): what started is stopped,
    /// and what never started is not an error (an Orleans silo refuses to stop before it ran).
    /// </summary>
    public static async Task StopAndDisposeAfterFailedStartAsync(this WebApplication app, TimeSpan timeout)
    {
        try
        {
            await app.StopAndDisposeAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStopOfWhatNeverStarted(e))
        {
        }
    }

    /// <summary>Whether <paramref name="e"/>, thrown by stopping a host whose start failed, is only its services refusing to stop before they ran.</summary>
    public static bool IsStopOfWhatNeverStarted(Exception e) =>
        e is InvalidOperationException || e is AggregateException all && all.InnerExceptions.All(x => x is InvalidOperationException);

    /// <summary>
    /// Where a started host's gRPC listener is reached, e.g. <c>http://127.0.0.1:41234</c> (the port
    /// the server picked when the options asked for 0; loopback for a listener on every interface).
    /// </summary>
    public static Uri GrpcAddress(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<ServerListeners>().Address(ServerListeners.Grpc);
    }
}
