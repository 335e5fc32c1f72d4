using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using PeerDistill.Torch;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill worker --coordinator HOST:PORT --slots N`: an Orleans silo that joins the
/// coordinator's cluster and hosts peers in its slots, until Ctrl-C or SIGTERM (which stop its
/// peers at a step boundary with a checkpoint; their cohorts re-activate them elsewhere).
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's cluster endpoint (host:port, printed by `peerdistill coordinator`), e.g. 127.0.0.1:11111 (Worker:Coordinator)." };
        var slots = new Option<int?>("--slots") { Description = "Peers this worker trains at once (default: one per visible GPU, else one per two CPU cores; Worker:Slots)." };
        var devices = new Option<string?>("--devices") { Description = "The device of each slot, comma-separated (cpu, cuda:N); default: cuda:0..N-1 for the visible GPUs, else cpu (Worker:Devices)." };
        var host = new Option<string>("--host") { Description = $"Address to listen on (the silo, and other workers' logits); default {WorkerOptions.DefaultHost} (Worker:Host)." };
        var port = new Option<int>("--port") { Description = "Port of this worker's PeerExchange (default 0: a free one; Worker:Port)." };
        var clusterPort = new Option<int>("--cluster-port") { Description = "Port of this worker's Orleans silo (default 0: a free one; Worker:ClusterPort)." };
        var clusterId = new Option<string>("--cluster-id") { Description = $"Orleans cluster id, the coordinator's (default {SiloSettings.DefaultClusterId}; Worker:ClusterId)." };
        var id = new Option<string?>("--id") { Description = "Worker id: the silo's name in statuses and events (default: w- and a random suffix; Worker:Id)." };
        var advertise = new Option<string?>("--advertise") { Description = "Address other workers reach this one's PeerExchange at, if not the one it listens on (Worker:Advertise)." };
        var config = ServiceConfiguration.ConfigOption();
        var command = new Command("worker", "Host peers of distributed cohorts: join the coordinator's cluster with free slots.") { coordinator, slots, devices, host, port, clusterPort, clusterId, id, advertise, config };
        (Option Flag, string Key)[] flags =
        [
            (coordinator, nameof(WorkerOptions.Coordinator)), (slots, nameof(WorkerOptions.Slots)), (devices, nameof(WorkerOptions.Devices)),
            (host, nameof(WorkerOptions.Host)), (port, nameof(WorkerOptions.Port)), (clusterPort, nameof(WorkerOptions.ClusterPort)),
            (clusterId, nameof(WorkerOptions.ClusterId)), (id, nameof(WorkerOptions.Id)), (advertise, nameof(WorkerOptions.Advertise)),
        ];
        command.SetAction(async (parse, cancellation) =>
        {
            var options = new WorkerOptions();
            if (!ServiceConfiguration.TryLoad(parse, config, WorkerOptions.Section, flags, section => section.Bind(options, o => o.ErrorOnUnknownConfiguration = true), options.Problems))
            {
                return ExitCodes.InvalidInput;
            }

            var primary = IPEndPoint.Parse(options.Coordinator!);
            var address = IPAddress.Parse(options.Host);
            var descriptors = SlotsOf(options.Slots, options.Devices);
            var name = options.Id ?? "w-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            using var process = new ServiceProcess();
            var exchange = new GrpcServiceHostOptions { Host = options.Host, Port = options.Port, MinimumLogLevel = ServiceProcess.LogLevel };
            while (true)
            {
                // A silo joins one cluster once: after its coordinator is gone, a new silo (same
                // name, slots and exchange port) joins whichever coordinator answers next.
                var silo = new SiloSettings
                {
                    Role = SiloRoles.Worker,
                    Name = name,
                    Address = address,
                    SiloPort = FreePort.Resolve(address, options.ClusterPort),
                    Primary = primary,
                    ClusterId = options.ClusterId,
                    Slots = descriptors,
                };
                WorkerNode started;
                using (var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
                using (process.OnStop(_ => starting.Cancel()))
                {
                    try
                    {
                        started = await WorkerNode.StartAsync(silo, exchange, options.Advertise, starting.Token).ConfigureAwait(false);
                    }
                    catch (WorkerIdTakenException e)
                    {
                        Console.Error.WriteLine($"error: {e.Message}");
                        return ExitCodes.InvalidInput;
                    }
                    catch (OperationCanceledException) when (process.StopRequested.IsCompleted)
                    {
                        Console.WriteLine($"worker '{name}' stopped ({process.StopRequested.Result} received while it joined the cluster)");
                        return ExitCodes.Interrupted;
                    }
                }

                await using var worker = started;
                // The first thing a stop request does, on the signal's thread: no new peer starts
                // here and every hosted peer stops at its next step boundary.
                using var onStop = process.OnStop(signal => worker.BeginStop(signal + " received"));
                exchange.Port = new Uri(worker.ExchangeAddress).Port;
                Console.WriteLine($"worker '{name}' serving at {worker.ExchangeAddress} with {descriptors.Count} slot(s) ({string.Join(", ", descriptors.Select(d => d.Device))}); silo {worker.SiloAddress} joined the cluster of {primary}");
                Console.Out.Flush();
                var ended = await Task.WhenAny(process.StopRequested, worker.Stopped, worker.CoordinatorLost, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
                if (ended == worker.CoordinatorLost)
                {
                    Console.WriteLine($"worker '{name}' leaves its cluster: {worker.CoordinatorLost.Result}; its peers stopped with a checkpoint; joining {primary} again");
                    Console.Out.Flush();
                    continue;
                }

                var reason = process.StopRequested.IsCompleted ? process.StopRequested.Result + " received" : "its silo left the cluster";
                var stopped = await worker.StopAsync(reason).ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worker '{name}' stopped ({reason}): {Stopped(stopped)}; peers stopped {stopped.ToCheckpoints.TotalSeconds:0.00} s after the request, silo left the cluster after {stopped.ToLeft.TotalSeconds:0.00} s"));
                Console.Out.Flush();
                break;
            }

            return process.StopRequested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>What became of the peers of a stopped worker, for its last line.</summary>
    private static string Stopped(WorkerStopped stopped)
    {
        var peers = stopped.Peers.Count == 0 ? "no peer was running" : string.Join(", ", stopped.Peers.Select(p => $"'{p.Peer}' (at step {p.Step} when told)"));
        return peers
            + (stopped.PeersStopped ? string.Empty : $"; not every peer stopped within {WorkerNode.PeerStopTimeout.TotalSeconds:0} s")
            + (stopped.Reported ? string.Empty : "; not every end reached its cohort");
    }

    /// <summary>The slots of the (validated) options: the devices given, else one per visible GPU, else CPU slots.</summary>
    private static List<SlotDescriptor> SlotsOf(int? count, string? devices)
    {
        List<string> list;
        if (devices is not null)
        {
            list = WorkerOptions.DeviceList(devices);
        }
        else
        {
            var cuda = TorchRuntime.CudaDeviceCount;
            var n = count ?? (cuda > 0 ? cuda : Math.Max(1, Environment.ProcessorCount / 2));
            list = Enumerable.Range(0, n).Select(i => cuda > 0 ? $"cuda:{i % cuda}" : "cpu").ToList();
        }

        return list.Select((d, i) => new SlotDescriptor(i, d, 0)).ToList();
    }
}
