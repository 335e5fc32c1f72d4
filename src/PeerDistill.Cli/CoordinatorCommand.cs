using System.CommandLine;
using System.Globalization;
using PeerDistill.Coordinator;
using PeerDistill.Protocol;

namespace PeerDistill.Cli;

/// <summary>`peerdistill coordinator`: places submitted cohorts' peers on workers and keeps them alive, until Ctrl-C.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0 picks a free one; the address is printed).", DefaultValueFactory = _ => 7070 };
        var output = new Option<string>("--output") { Description = "Where cohort runs write their outputs (summary, metrics, checkpoints); shared with the workers.", DefaultValueFactory = _ => "runs" };
        var lease = new Option<double>("--lease-seconds") { Description = "A worker that misses heartbeats this long is lost; its peers are re-activated elsewhere.", DefaultValueFactory = _ => 5 };
        var command = new Command("coordinator", "Run the coordinator of distributed cohorts (workers register with it; `submit` sends it cohorts).") { host, port, output, lease };
        command.SetAction(async (parse, cancellation) =>
        {
            var leaseSeconds = parse.GetValue(lease);
            if (leaseSeconds is <= 0 or > 3600)
            {
                Console.Error.WriteLine($"--lease-seconds: must be in (0, 3600], got {leaseSeconds.ToString(CultureInfo.InvariantCulture)}");
                return ExitCodes.InvalidInput;
            }

            using var process = new ServiceProcess();
            var options = new CoordinatorOptions
            {
                Lease = TimeSpan.FromSeconds(leaseSeconds),
                HeartbeatInterval = TimeSpan.FromSeconds(Math.Min(1, leaseSeconds / 4)),
                // Lease expiry is checked this often: a lost worker is noticed within the lease plus this.
                TickInterval = TimeSpan.FromMilliseconds(100),
                OutputRoot = Path.GetFullPath(parse.GetValue(output)!),
            };
            await using var coordinator = await CoordinatorHost.StartAsync(options, new GrpcServiceHostOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port) }, process.Loggers, cancellation).ConfigureAwait(false);
            Console.WriteLine($"coordinator listening at {coordinator.Address}");
            Console.Out.Flush();
            await Task.WhenAny(process.StopRequested, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
            Console.WriteLine("coordinator stopping");
            return process.StopRequested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return command;
    }
}
