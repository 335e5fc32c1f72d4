using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;

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
        var database = new Option<string?>("--database") { Description = "The coordinator's PostgreSQL connection string: join the cluster through its membership table (no --coordinator needed) and host cohorts' grains (Worker:Database)." };
        var insecure = ServiceConfiguration.InsecureOption("Worker");
        var (tlsCertificate, tlsKey, tlsAuthority) = ServiceConfiguration.TlsOptions("Worker");
        var config = ServiceConfiguration.ConfigOption();
        var (metricsPort, traceEvery, traceSlower) = ServiceConfiguration.TelemetryOptions("Worker");
        var command = new Command("worker", "Host peers of distributed cohorts: join the coordinator's cluster with free slots.") { coordinator, database, slots, devices, host, port, clusterPort, clusterId, id, advertise, insecure, tlsCertificate, tlsKey, tlsAuthority, metricsPort, traceEvery, traceSlower, config };
        (Option Flag, string Key)[] flags =
        [
            (coordinator, nameof(WorkerOptions.Coordinator)), (database, nameof(WorkerOptions.Database)), (slots, nameof(WorkerOptions.Slots)), (devices, nameof(WorkerOptions.Devices)),
            (host, nameof(WorkerOptions.Host)), (port, nameof(WorkerOptions.Port)), (clusterPort, nameof(WorkerOptions.ClusterPort)),
            (clusterId, nameof(WorkerOptions.ClusterId)), (id, nameof(WorkerOptions.Id)), (advertise, nameof(WorkerOptions.Advertise)), (insecure, nameof(WorkerOptions.Insecure)),
            (tlsCertificate, "Tls:Certificate"), (tlsKey, "Tls:Key"), (tlsAuthority, "Tls:Authority"),
            (metricsPort, "Telemetry:MetricsPort"), (traceEvery, "Telemetry:TraceEverySteps"), (traceSlower, "Telemetry:TraceSlowerThanMs"),
        ];
        command.SetAction(async (parse, cancellation) =>
        {
            var options = new WorkerOptions();
            var configuration = ServiceConfiguration.Load(parse, config, WorkerOptions.Section, flags, section => section.Bind(options, o => o.ErrorOnUnknownConfiguration = true), options.Problems);
            if (configuration is null)
            {
                return ExitCodes.InvalidInput;
            }

            ServiceConfiguration.WarnIfExposed(options.Host, options.Insecure, options.Tls.IsConfigured);
            using var process = new ServiceProcess();
            string? name = null;
            int? exchangePort = null;
            var conflicts = 0;
            while (true)
            {
                // A silo joins one cluster once: after its coordinator is gone, a new host (same id,
                // slots and exchange port) joins whichever coordinator answers next.
                var builder = GrpcHosting.CreateBuilder(ServiceProcess.LogLevel);
                builder.Configuration.AddConfiguration(configuration);
                builder.AddPeerDistillWorker(o =>
                {
                    o.Id = name ?? o.Id;
                    o.Port = exchangePort ?? o.Port;
                });
                var app = builder.Build();
                app.MapPeerDistillWorker();
                var started = new WorkerNode(app);
                name = started.Silo.Name;
                exchangePort = app.Services.GetRequiredService<IOptions<WorkerOptions>>().Value.Port;
                using (var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
                using (process.OnStop(_ => starting.Cancel()))
                {
                    try
                    {
                        await started.StartAsync(starting.Token).ConfigureAwait(false);
                    }
                    catch (WorkerIdTakenException e)
                    {
                        await started.DisposeAsync().ConfigureAwait(false);
                        Console.Error.WriteLine($"error: {e.Message}");
                        return ExitCodes.InvalidInput;
                    }
                    catch (OperationCanceledException) when (process.StopRequested.IsCompleted)
                    {
                        await started.DisposeAsync().ConfigureAwait(false);
                        Console.WriteLine($"worker '{name}' stopped ({process.StopRequested.Result} received while it joined the cluster)");
                        return ExitCodes.Interrupted;
                    }
                    catch (Exception e) when (PortConflict.Of(e, $"{started.Silo.Address}:{started.Silo.SiloPort}") is { } taken)
                    {
                        await started.DisposeAsync().ConfigureAwait(false);
                        if ((options.Port == 0 || options.ClusterPort == 0) && ++conflicts < PortConflict.Attempts)
                        {
                            // A port chosen for this worker was taken before it was bound: choose again.
                            Console.Error.WriteLine($"warning: worker '{name}': {taken}; starting again on other free ports");
                            exchangePort = options.Port == 0 ? null : exchangePort;
                            continue;
                        }

                        Console.Error.WriteLine($"error: worker '{name}' cannot listen: {taken}; give other ports (--port, --cluster-port; 0: any free one)");
                        return ExitCodes.Failed;
                    }
                }

                await using var worker = started;
                // The first thing a stop request does, on the signal's thread: no new peer starts
                // here and every hosted peer stops at its next step boundary.
                using var onStop = process.OnStop(signal => worker.BeginStop(signal + " received"));
                Console.WriteLine($"worker '{name}' serving at {worker.ExchangeAddress} with {worker.Silo.Slots.Count} slot(s) ({string.Join(", ", worker.Silo.Slots.Select(d => d.Device))}); silo {worker.SiloAddress} joined {worker.Silo.ClusterDescription}");
                if (worker.MetricsAddress is { } metrics)
                {
                    Console.WriteLine($"worker '{name}' metrics at {metrics}");
                }

                Console.Out.Flush();
                var ended = await Task.WhenAny(process.StopRequested, worker.Stopped, worker.CoordinatorLost, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
                if (ended == worker.CoordinatorLost)
                {
                    Console.WriteLine($"worker '{name}' leaves its cluster: {worker.CoordinatorLost.Result}; its peers stopped with a checkpoint; joining {worker.Silo.ClusterDescription} again");
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
}
