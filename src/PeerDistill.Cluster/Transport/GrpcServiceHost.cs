using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Transport.Internal;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// A Kestrel server for processes whose only job is serving gRPC (coordinator, workers, tests,
/// benches), on Grpc.AspNetCore: h2c (HTTP/2 only) on the given address, TLS (ALPN h2) when a
/// certificate is configured. Every host also serves the gRPC health checking service
/// (<c>grpc.health.v1.Health</c>, reporting SERVING while the process runs) and server reflection
/// (<c>grpc.reflection.v1alpha</c> and <c>v1</c>), so that grpcurl-style tools and Kubernetes gRPC probes
/// work on every process. Request bytes that break gRPC's framing or are no message of the method end
/// the call with RESOURCE_EXHAUSTED (a message beyond the receive limit) or INTERNAL, and one Warning
/// line (see <see cref="MalformedRequestMiddleware"/> and <see cref="MalformedMessageInterceptor"/>).
/// </summary>
public sealed class GrpcServiceHost : IAsyncDisposable
{
    /// <summary>The name of the health check every host registers (healthy while the server runs).</summary>
    public const string ServingCheck = "serving";

    private readonly WebApplication _app;

    private GrpcServiceHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The address clients use, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; }

    /// <summary>The port the server listens on (the one picked when the options asked for 0).</summary>
    public int Port => Address.Port;

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a server. <paramref name="configureServices"/> registers what the gRPC services need
    /// (and the service instances, when they are not made per call); <paramref name="map"/> maps them
    /// (<c>MapGrpcService&lt;T&gt;()</c>). Health and reflection are added and mapped here.
    /// <paramref name="configureHost"/> adds what else the process hosts (an Orleans silo).
    /// </summary>
    public static async Task<GrpcServiceHost> StartAsync(
        GrpcServiceHostOptions options,
        Action<IServiceCollection>? configureServices,
        Action<IEndpointRouteBuilder> map,
        CancellationToken cancellationToken = default,
        Action<WebApplicationBuilder>? configureHost = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(map);
        // No configuration reload: the default watches the working directory tree, and a worker writes
        // checkpoints and metrics there all the time.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        var certificate = LoadCertificate(options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            kestrel.Limits.Http2.InitialStreamWindowSize = options.StreamWindowSize;
            kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(options.StreamWindowSize * 2, 2 * 1024 * 1024);
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            kestrel.Listen(IPAddress.Parse(options.Host), options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });
        builder.Services.AddSingleton<RequestMessages>().AddSingleton<MalformedMessageInterceptor>();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
            grpc.EnableDetailedErrors = false;
            grpc.Interceptors.Add<MalformedMessageInterceptor>();
        });
        // One check: the process is up and serving its calls. (With no check at all the health service
        // answers UNKNOWN; processes with more to say add their own checks through configureServices.)
        builder.Services.AddGrpcHealthChecks().AddCheck(ServingCheck, () => HealthCheckResult.Healthy("serving gRPC"));
        builder.Services.AddGrpcReflection();
        // Ctrl-C and SIGTERM belong to the process that owns the host (it stops its work in its own
        // order first); the host never reacts to signals by itself.
        builder.Services.AddSingleton<IHostLifetime, ProcessOwnedLifetime>();
        configureServices?.Invoke(builder.Services);
        configureHost?.Invoke(builder);
        var app = builder.Build();
        app.UseRouting();
        // Between routing and the gRPC endpoint: every call's request bytes are checked as they are read.
        app.UseMiddleware<MalformedRequestMiddleware>();
        map(app);
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)).Port;
        var host = options.Host is "0.0.0.0" or "::" ? "127.0.0.1" : options.Host;
        var address = new UriBuilder(certificate is null ? "http" : "https", host.Contains(':') ? "[" + host + "]" : host, port).Uri;
        return new GrpcServiceHost(app, address);
    }

    /// <summary>Stops accepting calls and waits up to <paramref name="timeout"/> for running calls.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _app.StopAsync(cts.Token).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static X509Certificate2? LoadCertificate(GrpcServiceHostOptions options)
    {
        if (string.IsNullOrEmpty(options.CertificatePath))
        {
            return null;
        }

        if (!File.Exists(options.CertificatePath))
        {
            throw new FileNotFoundException($"TLS certificate '{options.CertificatePath}' does not exist", options.CertificatePath);
        }

        if (options.CertificateKeyPath is null)
        {
            return X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        }

        var pem = options.CertificatePassword is null
            ? X509Certificate2.CreateFromPemFile(options.CertificatePath, options.CertificateKeyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(options.CertificatePath, options.CertificatePassword, options.CertificateKeyPath);
        // Kestrel on Linux needs the key in an exportable, persisted form.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
