using System.CommandLine;
using Microsoft.Extensions.Configuration;
using PeerDistill.Api;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Cli;

/// <summary>`peerdistill coordinator`: the cluster's primary silo and the cohort API, until Ctrl-C.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = $"Address to listen on (the API and the silo); default {CoordinatorOptions.DefaultHost} (Coordinator:Host)." };
        var port = new Option<int>("--port") { Description = $"Port of the cohort API (gRPC; 0 picks a free one; the address is printed); default {CoordinatorOptions.DefaultPort} (Coordinator:Port)." };
        var clusterPort = new Option<int>("--cluster-port") { Description = $"Port of the coordinator's Orleans silo, which workers join (0 picks a free one; printed); default {CoordinatorOptions.DefaultClusterPort} (Coordinator:ClusterPort)." };
        var clusterId = new Option<string>("--cluster-id") { Description = $"Orleans cluster id (workers must use the same); default {SiloSettings.DefaultClusterId} (Coordinator:ClusterId)." };
        var output = new Option<string>("--output") { Description = $"Where cohort runs write their outputs (summary, metrics, checkpoints); shared with the workers; default {CoordinatorOptions.DefaultOutput} (Coordinator:Output)." };
        var config = ServiceConfiguration.ConfigOption();
        var command = new Command("coordinator", "Run the coordinator of distributed cohorts (workers join its cluster; `submit` sends it cohorts).") { host, port, clusterPort, clusterId, output, config };
        (Option Flag, string Key)[] flags =
        [
            (host, nameof(CoordinatorOptions.Host)), (port, nameof(CoordinatorOptions.Port)), (clusterPort, nameof(CoordinatorOptions.ClusterPort)),
            (clusterId, nameof(CoordinatorOptions.ClusterId)), (output, nameof(CoordinatorOptions.Output)),
        ];
        command.SetAction(async (parse, cancellation) =>
        {
            var settings = new CoordinatorOptions();
            if (!ServiceConfiguration.TryLoad(parse, config, CoordinatorOptions.Section, flags, section => section.Bind(settings, o => o.ErrorOnUnknownConfiguration = true), settings.Problems))
            {
                return ExitCodes.InvalidInput;
            }

            using var process = new ServiceProcess();
            var options = new ApiOptions { OutputRoot = Path.GetFullPath(settings.Output) };
            var api = new GrpcServiceHostOptions { Host = settings.Host, Port = settings.Port, MinimumLogLevel = ServiceProcess.LogLevel };
            await using var coordinator = await CoordinatorNode.StartAsync(options, api, settings.ClusterPort, settings.ClusterId, cancellation).ConfigureAwait(false);
            Console.WriteLine($"coordinator listening at {coordinator.ApiAddress}");
            Console.WriteLine($"cluster endpoint {coordinator.ClusterEndpoint} (workers: --coordinator {coordinator.ClusterEndpoint})");
            Console.Out.Flush();
            await Task.WhenAny(process.StopRequested, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
            Console.WriteLine("coordinator stopping");
            return process.StopRequested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return command;
    }
}
