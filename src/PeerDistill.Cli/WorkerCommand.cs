using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
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
        var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's cluster endpoint (host:port, printed by `peerdistill coordinator`), e.g. 127.0.0.1:11111.", Required = true };
        var slots = new Option<int?>("--slots") { Description = "Peers this worker trains at once (default: one per visible GPU, else one per two CPU cores)." };
        var devices = new Option<string?>("--devices") { Description = "The device of each slot, comma-separated (cpu, cuda:N); default: cuda:0..N-1 for the visible GPUs, else cpu." };
        var host = new Option<string>("--host") { Description = "Address to listen on (the silo, and other workers' logits).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port of this worker's PeerExchange (0 picks a free one).", DefaultValueFactory = _ => 0 };
        var clusterPort = new Option<int>("--cluster-port") { Description = "Port of this worker's Orleans silo (0 picks a free one).", DefaultValueFactory = _ => 0 };
        var clusterId = new Option<string>("--cluster-id") { Description = "Orleans cluster id (the coordinator's).", DefaultValueFactory = _ => SiloSettings.DefaultClusterId };
        var id = new Option<string?>("--id") { Description = "Worker id: the silo's name in statuses and events (default: w- and a random suffix)." };
        var advertise = new Option<string?>("--advertise") { Description = "Address other workers reach this one's PeerExchange at, if not the one it listens on." };
        var command = new Command("worker", "Host peers of distributed cohorts: join the coordinator's cluster with free slots.") { coordinator, slots, devices, host, port, clusterPort, clusterId, id, advertise };
        command.SetAction(async (parse, cancellation) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(coordinator)!, out var primary) || primary.Port == 0)
            {
                Console.Error.WriteLine($"--coordinator: '{parse.GetValue(coordinator)}' is not a host:port endpoint (the coordinator prints its cluster endpoint)");
                return ExitCodes.InvalidInput;
            }

            if (SlotsOf(parse.GetValue(slots), parse.GetValue(devices)) is not { } descriptors)
            {
                return ExitCodes.InvalidInput;
            }

            if (!IPAddress.TryParse(parse.GetValue(host), out var address))
            {
                Console.Error.WriteLine($"--host: '{parse.GetValue(host)}' is not an IP address");
                return ExitCodes.InvalidInput;
            }

            var name = parse.GetValue(id) ?? "w-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                Console.Error.WriteLine($"--id: '{name}' is not a worker id (1 to 64 letters, digits, '-', '_' or '.')");
                return ExitCodes.InvalidInput;
            }

            if (name == SiloRoles.Coordinator)
            {
                Console.Error.WriteLine($"--id: '{name}' names the coordinator's silo; give this worker another id");
                return ExitCodes.InvalidInput;
            }

            using var process = new ServiceProcess();
            var exchange = new GrpcServiceHostOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), MinimumLogLevel = ServiceProcess.LogLevel };
            while (true)
            {
                // A silo joins one cluster once: after its coordinator is gone, a new silo (same
                // name, slots and exchange port) joins whichever coordinator answers next.
                var silo = new SiloSettings
                {
                    Role = SiloRoles.Worker,
                    Name = name,
                    Address = address,
                    SiloPort = FreePort.Resolve(address, parse.GetValue(clusterPort)),
                    Primary = primary,
                    ClusterId = parse.GetValue(clusterId)!,
                    Slots = descriptors,
                };
                WorkerNode started;
                using (var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
                using (process.OnStop(_ => starting.Cancel()))
                {
                    try
                    {
                        started = await WorkerNode.StartAsync(silo, exchange, parse.GetValue(advertise), starting.Token).ConfigureAwait(false);
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

    /// <summary>The slots from --slots and --devices (null, with the reason on stderr, when they disagree or are invalid).</summary>
    private static List<SlotDescriptor>? SlotsOf(int? count, string? devices)
    {
        if (count is < 1 or > 256)
        {
            Console.Error.WriteLine($"--slots: must be 1 to 256, got {count}");
            return null;
        }

        List<string> list;
        if (devices is not null)
        {
            list = devices.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
            var bad = list.FirstOrDefault(d => d != "cpu" && !(d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d.AsSpan(5), out var n) && n >= 0));
            if (list.Count == 0 || bad is not null)
            {
                Console.Error.WriteLine($"--devices: '{bad ?? devices}' is not a device (cpu or cuda:N)");
                return null;
            }

            if (count is { } c && c != list.Count)
            {
                Console.Error.WriteLine($"--slots {c} disagrees with --devices, which names {list.Count} slot(s)");
                return null;
            }
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
