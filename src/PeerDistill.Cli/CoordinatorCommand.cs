using System.Data.Common;
using System.CommandLine;
using Microsoft.Extensions.Configuration;
using PeerDistill.Api;
using PeerDistill.Api.Access;
using PeerDistill.Api.Storage;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Cli;

/// <summary>`peerdistill coordinator`: the cluster's primary silo and the cohort API, until Ctrl-C.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = $"Address to listen on (the API and the silo); default {CoordinatorOptions.DefaultHost} (Coordinator:Host)." };
        var port = new Option<int>("--port") { Description = $"Port of the cohort API over gRPC (HTTP/2; with TLS, REST too; 0 picks a free one; the address is printed); default {CoordinatorOptions.DefaultPort} (Coordinator:Port)." };
        var httpPort = new Option<int>("--http-port") { Description = $"Port of the cohort API over REST (HTTP/1.1: /api/v1, /openapi/v1.json, /scalar; with TLS, gRPC too; 0 picks a free one; printed); default {CoordinatorOptions.DefaultHttpPort} (Coordinator:HttpPort)." };
        var clusterPort = new Option<int>("--cluster-port") { Description = $"Port of the coordinator's Orleans silo, which workers join (0 picks a free one; printed); default {CoordinatorOptions.DefaultClusterPort} (Coordinator:ClusterPort)." };
        var clusterId = new Option<string>("--cluster-id") { Description = $"Orleans cluster id (workers must use the same); default {SiloSettings.DefaultClusterId} (Coordinator:ClusterId)." };
        var output = new Option<string>("--output") { Description = $"Where cohort runs write their outputs (summary, metrics, checkpoints); shared with the workers; default {CoordinatorOptions.DefaultOutput} (Coordinator:Output)." };
        var dataDir = new Option<string>("--data-dir") { Description = $"Where the coordinator keeps its database (SQLite) unless --database names another; default {CoordinatorOptions.DefaultDataDirectory} (Coordinator:DataDirectory)." };
        var databaseProvider = new Option<string>("--database-provider") { Description = "sqlite (default: a file in --data-dir, no set-up) or postgres (Coordinator:Database:Provider)." };
        var database = new Option<string>("--database") { Description = "The database's connection string: required for postgres (Host=...;Database=...;Username=...), optional for sqlite (Data Source=FILE) (Coordinator:Database:ConnectionString)." };
        var adminTokenFile = new Option<string>("--admin-token-file") { Description = "A file holding the admin token to make on the first start (`peerdistill tokens mint` writes one), instead of a random token printed once; read only while the database has no token (Coordinator:Access:AdminTokenFromFile)." };
        var insecure = ServiceConfiguration.InsecureOption("Coordinator");
        var (tlsCertificate, tlsKey, tlsAuthority) = ServiceConfiguration.TlsOptions("Coordinator");
        var config = ServiceConfiguration.ConfigOption();
        var (metricsPort, traceEvery, traceSlower) = ServiceConfiguration.TelemetryOptions("Coordinator");
        var command = new Command("coordinator", "Run the coordinator of distributed cohorts (workers join its cluster; `submit` sends it cohorts).") { host, port, httpPort, clusterPort, clusterId, output, dataDir, databaseProvider, database, adminTokenFile, insecure, tlsCertificate, tlsKey, tlsAuthority, metricsPort, traceEvery, traceSlower, config };
        (Option Flag, string Key)[] flags =
        [
            (host, nameof(CoordinatorOptions.Host)), (port, nameof(CoordinatorOptions.Port)), (httpPort, nameof(CoordinatorOptions.HttpPort)), (clusterPort, nameof(CoordinatorOptions.ClusterPort)),
            (clusterId, nameof(CoordinatorOptions.ClusterId)), (output, nameof(CoordinatorOptions.Output)), (dataDir, nameof(CoordinatorOptions.DataDirectory)),
            (databaseProvider, nameof(CoordinatorOptions.Database) + ":" + nameof(DatabaseOptions.Provider)), (database, nameof(CoordinatorOptions.Database) + ":" + nameof(DatabaseOptions.ConnectionString)),
            (adminTokenFile, "Access:AdminTokenFromFile"), (insecure, nameof(CoordinatorOptions.Insecure)),
            (tlsCertificate, "Tls:Certificate"), (tlsKey, "Tls:Key"), (tlsAuthority, "Tls:Authority"),
            (metricsPort, "Telemetry:MetricsPort"), (traceEvery, "Telemetry:TraceEverySteps"), (traceSlower, "Telemetry:TraceSlowerThanMs"),
        ];
        command.SetAction(async (parse, cancellation) =>
        {
            var settings = new CoordinatorOptions();
            var configuration = ServiceConfiguration.Load(parse, config, CoordinatorOptions.Section, flags, section => section.Bind(settings, o => o.ErrorOnUnknownConfiguration = true), settings.Problems);
            if (configuration is null)
            {
                return ExitCodes.InvalidInput;
            }

            ServiceConfiguration.WarnIfExposed(settings.Host, settings.Insecure, settings.Tls.IsConfigured);
            using var process = new ServiceProcess();
            CoordinatorNode? started = null;
            string? firstToken = null;
            for (var attempt = 1; started is null; attempt++)
            {
                var builder = GrpcHosting.CreateBuilder(ServiceProcess.LogLevel);
                builder.Configuration.AddConfiguration(configuration);
                builder.AddPeerDistillCoordinator();
                var app = builder.Build();
                app.MapPeerDistillCoordinator();
                var node = new CoordinatorNode(app);
                try
                {
                    await node.StartAsync(cancellation).ConfigureAwait(false);
                    started = node;
                }
                catch (InvalidDataException e)
                {
                    await node.DisposeAsync().ConfigureAwait(false);
                    Console.Error.WriteLine($"error: coordinator: {e.Message}");
                    return ExitCodes.InvalidInput;
                }
                catch (DbException e)
                {
                    await node.DisposeAsync().ConfigureAwait(false);
                    // The message names the server and the failure; the connection string (and its password) is not repeated.
                    Console.Error.WriteLine($"coordinator: {settings.Database.Describe(settings.DataDirectory)} cannot be used: {e.Message}");
                    return ExitCodes.Failed;
                }
                catch (Exception e) when (PortConflict.Of(e, node.ClusterEndpoint) is { } taken)
                {
                    // A start that made the first admin token and then failed still made it: it is printed once it serves.
                    firstToken ??= node.FirstAdminToken;
                    await node.DisposeAsync().ConfigureAwait(false);
                    if (settings.ClusterPort == 0 && attempt < PortConflict.Attempts)
                    {
                        // The cluster port chosen for it was taken before it was bound: choose again.
                        Console.Error.WriteLine($"warning: coordinator: {taken}; starting again on another free cluster port");
                        continue;
                    }

                    Console.Error.WriteLine($"error: the coordinator cannot listen: {taken}; give other ports (--port, --http-port, --cluster-port; 0: any free one)");
                    return ExitCodes.Failed;
                }
            }

            await using var coordinator = started;

            Console.WriteLine($"coordinator listening at {coordinator.ApiAddress}");
            Console.WriteLine($"REST API at {coordinator.HttpAddress}api/v1 (reference: {coordinator.HttpAddress}scalar)");
            Console.WriteLine($"cluster endpoint {coordinator.ClusterEndpoint} (workers: --coordinator {coordinator.ClusterEndpoint})");
            if (coordinator.MetricsAddress is { } metrics)
            {
                Console.WriteLine($"metrics at {metrics}");
            }
            if ((coordinator.FirstAdminToken ?? firstToken) is { } token)
            {
                // The one time a token is printed: the database keeps only its hash.
                Console.WriteLine($"first start: made the admin token '{AdminTokenBootstrap.Name}'; it is shown this once and kept in {coordinator.AdminTokenFile} (readable by this user only):");
                Console.WriteLine($"  {token}");
                Console.WriteLine("the CLI on this machine finds it by itself; elsewhere give it with --token, PEERDISTILL_TOKEN or `peerdistill login`, and make tokens for others with `peerdistill tokens create`");
            }

            if (coordinator.LocalPointerProblem is { } problem)
            {
                Console.Error.WriteLine($"warning: {problem}");
            }

            Console.Out.Flush();
            await Task.WhenAny(process.StopRequested, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
            Console.WriteLine("coordinator stopping");
            return process.StopRequested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return command;
    }
}
