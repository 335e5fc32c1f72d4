using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerDistill.Api.Access;
using PeerDistill.Api.Rest;
using PeerDistill.Api.Storage;
using PeerDistill.Api.Ui;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Api;

/// <summary>
/// Composes a coordinator process: <see cref="AddPeerDistillCoordinator"/> on the host builder (from
/// <c>GrpcHosting.CreateBuilder</c>), <see cref="MapPeerDistillCoordinator"/> on the built app, then a
/// <see cref="CoordinatorNode"/> over the app starts it.
/// </summary>
public static class CoordinatorHosting
{
    /// <summary>
    /// A coordinator: its <see cref="CoordinatorOptions"/> bound from the configuration section
    /// <see cref="CoordinatorOptions.Section"/>, then <paramref name="configure"/>, and checked (an
    /// <see cref="OptionsValidationException"/> naming every wrong key); the cluster's primary silo
    /// (it hosts no peers) and the cohort API.
    /// </summary>
    public static IHostApplicationBuilder AddPeerDistillCoordinator(this IHostApplicationBuilder builder, Action<CoordinatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new CoordinatorOptions();
        builder.Configuration.GetSection(CoordinatorOptions.Section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        configure?.Invoke(options);
        if (options.Problems().ToList() is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(CoordinatorOptions.Section, typeof(CoordinatorOptions), problems.Select(p => $"{CoordinatorOptions.Section}:{p.Key}: {p.Message}"));
        }

        var address = IPAddress.Parse(options.Host is "0.0.0.0" or "::" ? "127.0.0.1" : options.Host);
        options.ClusterPort = FreePort.Resolve(address, options.ClusterPort);
        var api = new ApiOptions { OutputRoot = Path.GetFullPath(options.Output) };
        var checkpointRoot = Path.GetFullPath(api.CheckpointRoot ?? api.OutputRoot);
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var silo = new SiloSettings
        {
            Role = SiloRoles.Coordinator,
            Name = SiloRoles.Coordinator,
            Address = address,
            SiloPort = options.ClusterPort,
            ClusterId = options.ClusterId,
            OutputRoot = api.OutputRoot,
            CheckpointRoot = checkpointRoot,
            Database = options.Database.ForCluster(dataDirectory),
            Tls = options.Tls.IsConfigured ? options.Tls : null,
        };
        builder.Services.AddSingleton(Options.Create(options)).AddSingleton(api).AddSingleton<CohortApi>();
        builder.Services.AddSingleton(sp => new CheckpointExporter(Path.Combine(dataDirectory, "exports"), sp.GetRequiredService<ILogger<CheckpointExporter>>()));
        builder.Services.AddSingleton(_ => StoreDatabase.Create(options.Database, dataDirectory)).AddSingleton<DatabaseMigrator>();
        builder.Services.AddSingleton<IRunStore, RunStore>().AddSingleton<IRunHistory, StoredRunHistory>().AddSingleton(options.Database.Metrics).AddSingleton<MetricsWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MetricsWriter>()).AddHostedService<RunProjection>();
        if (options.Tls.IsConfigured)
        {
            // TLS on the API's two ports and the silo's: API callers present no certificate (they authenticate otherwise).
            builder.Services.AddClusterCredentials(options.Tls);
        }

        builder.AddPeerDistillGrpc(grpc =>
        {
            grpc.Host = options.Host;
            grpc.Port = options.Port;
        });
        builder.AddPeerDistillAccess(options.Access);
        builder.Services.AddSingleton<AdminTokenBootstrap>().AddSingleton<AccessApi>();
        builder.AddPeerDistillRest();
        builder.AddPeerDistillTelemetry(SiloRoles.Coordinator, silo.Name, options.Host, options.Telemetry);
        builder.Services.AddSingleton<LiveViewAssets>();
        builder.AddPeerDistillSilo(silo);
        return builder;
    }

    /// <summary>
    /// The coordinator's endpoints, each behind access control (a credential of the role it needs; only
    /// health and the live view's files are open): the cohort API over gRPC (with health and
    /// reflection) on the gRPC port, over REST under <c>/api/v1</c> with its OpenAPI document
    /// (<c>/openapi/v1.json</c>) and reference page (<c>/scalar</c>) on the HTTP port, where the live
    /// view (<c>/ui/</c>) and the Orleans dashboard (<c>/orleans/</c>) are served too.
    /// </summary>
    public static WebApplication MapPeerDistillCoordinator(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPeerDistillTelemetry();
        app.MapPeerDistillGrpc();
        // After routing (in MapPeerDistillGrpc), so that authorization sees each endpoint's policy.
        app.UsePeerDistillAccess();
        app.MapGrpcService<CohortGrpcService>();
        app.MapGrpcService<AccessGrpcService>();
        app.MapPeerDistillRest();
        app.MapLiveView();
        app.MapPeerDistillOrleansDashboard();
        return app;
    }
}
