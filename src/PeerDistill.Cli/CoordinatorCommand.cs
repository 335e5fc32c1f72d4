using System.CommandLine;
using PeerDistill.Api;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Cli;

/// <summary>`peerdistill coordinator`: the cluster's primary silo and the cohort API, until Ctrl-C.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on (the API and the silo).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port of the cohort API (gRPC; 0 picks a free one; the address is printed).", DefaultValueFactory = _ => 7070 };
        var clusterPort = new Option<int>("--cluster-port") { Description = "Port of the coordinator's Orleans silo, which workers join (0 picks a free one; printed).", DefaultValueFactory = _ => 11111 };
        var clusterId = new Option<string>("--cluster-id") { Description = "Orleans cluster id (workers must use the same).", DefaultValueFactory = _ => SiloSettings.DefaultClusterId };
        var output = new Option<string>("--output") { Description = "Where cohort runs write their outputs (summary, metrics, checkpoints); shared with the workers.", DefaultValueFactory = _ => "runs" };
        var command = new Command("coordinator", "Run the coordinator of distributed cohorts (workers join its cluster; `submit` sends it cohorts).") { host, port, clusterPort, clusterId, output };
        command.SetAction(async (parse, cancellation) =>
        {
            using var process = new ServiceProcess();
            var options = new ApiOptions { OutputRoot = Path.GetFullPath(parse.GetValue(output)!) };
            var api = new GrpcServiceHostOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), MinimumLogLevel = ServiceProcess.LogLevel };
            await using var coordinator = await CoordinatorNode.StartAsync(options, api, parse.GetValue(clusterPort), parse.GetValue(clusterId)!, cancellation).ConfigureAwait(false);
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
