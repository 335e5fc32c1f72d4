using System.CommandLine;
using PeerDistill.Worker.Hosting;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill worker --coordinator URL --slots N`: hosts peers for a coordinator until Ctrl-C or
/// SIGTERM (which stop its peers at a step boundary with a checkpoint).
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's address, e.g. http://127.0.0.1:7070.", Required = true };
        var slots = new Option<int?>("--slots") { Description = "Peers this worker trains at once (default: one per visible GPU, else one per two CPU cores)." };
        var host = new Option<string>("--host") { Description = "Address to listen on for other workers' logits.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => 0 };
        var id = new Option<string?>("--id") { Description = "Worker id to register with (default: the coordinator picks one)." };
        var advertise = new Option<string?>("--advertise") { Description = "Address other workers reach this one at, if not the one it listens on." };
        var command = new Command("worker", "Host peers of distributed cohorts for a coordinator.") { coordinator, slots, host, port, id, advertise };
        command.SetAction(async (parse, cancellation) =>
        {
            var options = new WorkerOptions
            {
                Coordinator = parse.GetValue(coordinator)!,
                Slots = parse.GetValue(slots),
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Id = parse.GetValue(id),
                AdvertiseAddress = parse.GetValue(advertise),
            };
            if (options.Slots is < 1)
            {
                Console.Error.WriteLine($"--slots: must be at least 1, got {options.Slots}");
                return ExitCodes.InvalidInput;
            }

            using var process = new ServiceProcess();
            await using var worker = await WorkerHost.StartAsync(options, process.Loggers).ConfigureAwait(false);
            Console.WriteLine($"worker serving at {worker.Address} with {worker.Slots} slot(s); coordinator {options.Coordinator}");
            await Task.WhenAny(process.StopRequested, worker.Completion, Task.Delay(Timeout.Infinite, cancellation)).ConfigureAwait(false);
            Console.WriteLine("worker stopping: peers checkpoint at their next step boundary");
            return process.StopRequested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return command;
    }
}
