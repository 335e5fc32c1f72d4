using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill cohorts list|get|cancel|pause|resume|update --coordinator URL`: every run operation
/// of the cohort API (over gRPC), with tables for people and <c>--json</c> (the protobuf JSON of the
/// reply) for scripts. Exit codes: 0 done, 2 refused as invalid or unknown, 3 refused in the run's
/// state (or a stale version), 4 refused for the credentials, 1 the coordinator failed or could not be reached.
/// </summary>
internal static class CohortsCommand
{
    /// <summary>How long one call may take (a pause answers once every peer has stopped: up to 30 s).</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a download may take (a TorchScript export first rebuilds the model on the coordinator).</summary>
    public static readonly TimeSpan DownloadTimeout = TimeSpan.FromMinutes(10);

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation().WithFormatDefaultValues(true));

    public static Command Create()
    {
        var command = new Command("cohorts", "List, inspect and steer the cohort runs of a coordinator.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(Steer("cancel", "Cancel a run (a run that has ended keeps its state).", reason: true, change: false));
        command.Subcommands.Add(Steer("pause", "Pause a run: every peer stops at one step with a checkpoint and frees its slot.", reason: false, change: false));
        command.Subcommands.Add(Steer("resume", "Resume a paused run from its pause step.", reason: false, change: false));
        command.Subcommands.Add(Delete());
        command.Subcommands.Add(Steer("update", "Change a running run from a step the coordinator announces (alpha, temperature, lr_scale, evaluation and checkpoint cadence).", reason: false, change: true));
        return command;
    }

    /// <summary>`peerdistill workers --coordinator URL`: the worker silos of the cluster, their slots and the peer in each.</summary>
    public static Command Workers()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var command = new Command("workers", "List the workers of a coordinator's cluster: their slots, devices and the peer in each.") { json };
        coordinator.AddTo(command);
        command.SetAction(async (parse, cancellation) => await CallAsync("workers", coordinator, parse, async client =>
        {
            var reply = await client.ListWorkersAsync(new ListWorkersRequest(), deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            var rows = reply.Workers.SelectMany(w => w.Slots.Select(s => new[]
            {
                w.Worker, w.Silo, w.TakesPeers ? "yes" : "stopping", s.Index.ToString(CultureInfo.InvariantCulture), s.Device,
                s.Peer.Length == 0 ? "-" : s.Peer + (s.Started ? string.Empty : " (starting)"),
            })).ToList();
            if (rows.Count == 0)
            {
                Console.WriteLine("no workers");
                return;
            }

            TextTable.Print(["WORKER", "SILO", "TAKES PEERS", "SLOT", "DEVICE", "PEER"], rows);
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>`peerdistill metrics COHORT --coordinator URL`: a run's metrics history, per peer and step.</summary>
    public static Command Metrics()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var cohort = new Argument<string>("cohort") { Description = "The cohort's name." };
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var peer = new Option<string[]>("--peer") { Description = "Only this peer (repeatable)." };
        var from = new Option<long>("--from") { Description = "Only steps at or after this." };
        var to = new Option<long>("--to") { Description = "Only steps at or before this (default: the last)." };
        var points = new Option<int>("--max-points") { Description = "At most this many rows per peer (every k-th recorded row, from the first); default 50.", DefaultValueFactory = _ => 50 };
        var command = new Command("metrics", "A run's metrics history from the coordinator's database: loss, its terms, learning rate, throughput and test accuracy per peer and step.") { cohort, run, peer, from, to, points, json };
        coordinator.AddTo(command);
        command.SetAction(async (parse, cancellation) => await CallAsync("metrics", coordinator, parse, async client =>
        {
            var request = new GetRunMetricsRequest { Cohort = parse.GetValue(cohort)!, Run = parse.GetValue(run) ?? string.Empty, FromStep = parse.GetValue(from), ToStep = parse.GetValue(to), MaxPoints = parse.GetValue(points) };
            request.Peers.AddRange(parse.GetValue(peer) ?? []);
            var reply = await client.GetRunMetricsAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            if (reply.Points.Count == 0)
            {
                Console.WriteLine("no metrics yet");
                return;
            }

            static string Number(bool has, double value) => has ? value.ToString("0.####", CultureInfo.InvariantCulture) : "-";
            TextTable.Print(["PEER", "STEP", "LOSS", "CE", "KD", "LR", "SAMPLES/S", "ACCURACY"], reply.Points.Select(p => new[]
            {
                p.Peer, p.Step.ToString(CultureInfo.InvariantCulture), Number(p.HasLoss, p.Loss), Number(p.HasCe, p.Ce), Number(p.HasKd, p.Kd),
                Number(p.HasLr, p.Lr), Number(p.HasSamplesPerS, p.SamplesPerS), Number(p.HasAccuracy, p.Accuracy),
            }).ToList());
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>
    /// `peerdistill checkpoints COHORT --coordinator URL`: a run's checkpoints, per peer and step; with
    /// <c>--output</c>, the download of one (the checkpoint file, or with <c>--torchscript</c> the model for PyTorch).
    /// </summary>
    public static Command Checkpoints()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var cohort = new Argument<string>("cohort") { Description = "The cohort's name." };
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var peer = new Option<string?>("--peer") { Description = "Only this peer's checkpoints; with --output, the peer whose checkpoint to download." };
        var step = new Option<long?>("--step") { Description = "With --output: the step of the checkpoint to download (default: the peer's newest)." };
        var output = new Option<string?>("--output", "-o") { Description = "Download one checkpoint (of --peer) to this file, or into this directory under the name the coordinator gives." };
        var torchScript = new Option<bool>("--torchscript") { Description = "With --output: download the model alone as TorchScript (evaluation mode, CPU) for torch.jit.load, not the checkpoint file." };
        var command = new Command("checkpoints", "List a run's checkpoints (per peer, the step each holds, its size and where it is), or download one with --output.") { cohort, run, peer, step, output, torchScript, json };
        coordinator.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(output) is null && (result.GetValue(step) is not null || result.GetValue(torchScript)))
            {
                result.AddError("--step and --torchscript choose what --output downloads; give --output FILE too");
            }
            else if (result.GetValue(output) is not null && string.IsNullOrEmpty(result.GetValue(peer)))
            {
                result.AddError("--output downloads one peer's checkpoint: name it with --peer");
            }
        });
        command.SetAction(async (parse, cancellation) => await CallAsync("checkpoints", coordinator, parse, async client =>
        {
            if (parse.GetValue(output) is { } file)
            {
                await DownloadAsync(client, new DownloadCheckpointRequest
                {
                    Cohort = parse.GetValue(cohort)!,
                    Run = parse.GetValue(run) ?? string.Empty,
                    Peer = parse.GetValue(peer)!,
                    Format = parse.GetValue(torchScript) ? CheckpointFormat.Torchscript : CheckpointFormat.Unspecified,
                }, parse.GetValue(step), file, cancellation).ConfigureAwait(false);
                return;
            }

            var reply = await client.ListCheckpointsAsync(new ListCheckpointsRequest { Cohort = parse.GetValue(cohort)!, Run = parse.GetValue(run) ?? string.Empty, Peer = parse.GetValue(peer) ?? string.Empty }, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            if (reply.Checkpoints.Count == 0)
            {
                Console.WriteLine("no checkpoints");
                return;
            }

            TextTable.Print(["PEER", "STEP", "BYTES", "WRITTEN (UTC)", "PATH"], reply.Checkpoints.Select(c => new[]
            {
                c.Peer, c.Step.ToString(CultureInfo.InvariantCulture), c.Bytes.ToString(CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(c.WrittenUnixMillis).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), c.Path,
            }).ToList());
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>
    /// Streams a checkpoint into <paramref name="output"/> (a file, or a directory to put the
    /// coordinator's file name in): written to a temporary file beside it and renamed once complete,
    /// so an interrupted download leaves no partial file under the name asked for.
    /// </summary>
    private static async Task DownloadAsync(CohortService.CohortServiceClient client, DownloadCheckpointRequest request, long? step, string output, CancellationToken cancellation)
    {
        if (step is { } wanted)
        {
            request.Step = wanted;
        }

        using var call = client.DownloadCheckpoint(request, deadline: DateTime.UtcNow + DownloadTimeout, cancellationToken: cancellation);
        if (!await call.ResponseStream.MoveNext(cancellation).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Internal, "the coordinator answered with no data"));
        }

        var first = call.ResponseStream.Current;
        var target = Path.GetFullPath(Directory.Exists(output) ? Path.Combine(output, first.FileName) : output);
        var partial = target + ".part";
        long written = 0;
        try
        {
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                await file.WriteAsync(first.Data.Memory, cancellation).ConfigureAwait(false);
                written += first.Data.Length;
                while (await call.ResponseStream.MoveNext(cancellation).ConfigureAwait(false))
                {
                    await file.WriteAsync(call.ResponseStream.Current.Data.Memory, cancellation).ConfigureAwait(false);
                    written += call.ResponseStream.Current.Data.Length;
                }
            }

            if (written != first.TotalBytes)
            {
                throw new RpcException(new Status(StatusCode.DataLoss, $"the download ended after {written} of {first.TotalBytes} bytes"));
            }

            File.Move(partial, target, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        Console.WriteLine(request.Format == CheckpointFormat.Torchscript
            ? $"wrote {target}: peer '{request.Peer}' at step {first.Step} as TorchScript ({written} bytes; in PyTorch: torch.jit.load(path))"
            : $"wrote {target}: the checkpoint of peer '{request.Peer}' at step {first.Step} ({written} bytes)");
    }


    private static Option<bool> JsonOption() => new("--json") { Description = "Print the reply as JSON (protobuf's JSON mapping) instead of a table." };

    private static Command List()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var state = new Option<string?>("--state") { Description = "Only runs in this state (pending, running, paused, completed, failed, cancelled)." };
        var cohort = new Option<string?>("--cohort") { Description = "Only runs of this cohort." };
        var limit = new Option<int>("--limit") { Description = "The most runs to list (1 to 500; default 50).", DefaultValueFactory = _ => 50 };
        var command = new Command("list", "List runs, newest first.") { state, cohort, limit, json };
        coordinator.AddTo(command);
        command.SetAction(async (parse, cancellation) => await CallAsync("cohorts list", coordinator, parse, async client =>
        {
            var request = new ListCohortsRequest { Cohort = parse.GetValue(cohort) ?? string.Empty, PageSize = parse.GetValue(limit) };
            if (parse.GetValue(state) is { } name)
            {
                request.State = ParseState(name);
            }

            var reply = await client.ListCohortsAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            var rows = reply.Cohorts.Select(c => new[]
            {
                c.Cohort, c.Run, CohortStatusView.Name(c.State),
                $"{c.Peers.Count(p => p.State == PeerState.Completed)}/{c.Peers.Count}",
                c.Peers.Count == 0 ? "-" : c.Peers.Min(p => p.Step).ToString(CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(c.CreatedUnixMillis).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            }).ToList();
            TextTable.Print(["COHORT", "RUN", "STATE", "DONE", "STEP", "CREATED (UTC)"], rows);
            if (reply.NextPageToken.Length > 0)
            {
                Console.WriteLine($"(more runs: raise --limit, or filter with --state / --cohort)");
            }
        }).ConfigureAwait(false));
        return command;
    }

    private static Command Get()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var cohort = new Argument<string>("cohort") { Description = "The cohort's name." };
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var command = new Command("get", "One run: its peers (worker, generation, step, loss, accuracy) and events.") { cohort, run, json };
        coordinator.AddTo(command);
        command.SetAction(async (parse, cancellation) => await CallAsync("cohorts get", coordinator, parse, async client =>
        {
            var status = await client.GetCohortAsync(new GetCohortRequest { Cohort = parse.GetValue(cohort)!, Run = parse.GetValue(run) ?? string.Empty }, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(status));
                return;
            }

            CohortStatusView.Render(status).ForEach(Console.WriteLine);
        }).ConfigureAwait(false));
        return command;
    }

    private static Command Delete()
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var cohort = new Argument<string>("cohort") { Description = "The cohort's name." };
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var files = new Option<bool>("--files") { Description = "Also delete the run's output and checkpoint directories." };
        var command = new Command("delete", "Delete a run that has ended: its record and metrics history (and its files with --files).") { cohort, run, files, json };
        coordinator.AddTo(command);
        command.SetAction(async (parse, cancellation) => await CallAsync("cohorts delete", coordinator, parse, async client =>
        {
            var reply = await client.DeleteCohortAsync(new DeleteCohortRequest { Cohort = parse.GetValue(cohort)!, Run = parse.GetValue(run) ?? string.Empty, DeleteFiles = parse.GetValue(files) }, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            Console.WriteLine(parse.GetValue(json) ? Json.Format(reply)
                : $"deleted the run of cohort '{parse.GetValue(cohort)}'" + (reply.DeletedDirectories.Count == 0 ? string.Empty : " and " + string.Join(", ", reply.DeletedDirectories)));
        }).ConfigureAwait(false));
        return command;
    }

    private static Command Steer(string name, string description, bool reason, bool change)
    {
        var coordinator = new CoordinatorTarget();
        var json = JsonOption();
        var cohort = new Argument<string>("cohort") { Description = "The cohort's name." };
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var why = new Option<string?>("--reason") { Description = "Why, for the run's events." };
        var set = new Option<string[]>("--set") { Description = "A field to change, path=value (repeatable): distillation.alpha=0.5, distillation.temperature=2, lr_scale=0.5, evaluation.every_steps=100, checkpoints.every_steps=200.", AllowMultipleArgumentsPerToken = false };
        var command = new Command(name, description) { cohort, run, json };
        coordinator.AddTo(command);
        if (reason)
        {
            command.Options.Add(why);
        }

        if (change)
        {
            command.Options.Add(set);
        }

        command.SetAction(async (parse, cancellation) => await CallAsync("cohorts " + name, coordinator, parse, async client =>
        {
            var target = (Cohort: parse.GetValue(cohort)!, Run: parse.GetValue(run) ?? string.Empty);
            var deadline = DateTime.UtcNow + CallTimeout;
            IMessage reply;
            string said;
            switch (name)
            {
                case "cancel":
                    var cancelled = await client.CancelCohortAsync(new CancelCohortRequest { Cohort = target.Cohort, Run = target.Run, Reason = parse.GetValue(why) ?? string.Empty }, deadline: deadline, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    (reply, said) = (cancelled, $"cohort '{target.Cohort}': {CohortStatusView.Name(cancelled.State)}");
                    break;
                case "pause":
                    var paused = await client.PauseCohortAsync(new PauseCohortRequest { Cohort = target.Cohort, Run = target.Run }, deadline: deadline, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    (reply, said) = (paused, $"cohort '{paused.Status.Cohort}' run '{paused.Status.Run}' paused at step {paused.Step} (every peer checkpointed it)");
                    break;
                case "resume":
                    var resumed = await client.ResumeCohortAsync(new ResumeCohortRequest { Cohort = target.Cohort, Run = target.Run }, deadline: deadline, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    (reply, said) = (resumed, $"cohort '{resumed.Status.Cohort}' run '{resumed.Status.Run}' resumes from step {resumed.Step}");
                    break;
                default:
                    var text = ChangeText(parse.GetValue(set) ?? []);
                    var updated = await client.UpdateCohortAsync(new UpdateCohortRequest { Cohort = target.Cohort, Run = target.Run, Change = text }, deadline: deadline, cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    (reply, said) = (updated, $"cohort '{updated.Status.Cohort}' run '{updated.Status.Run}': every peer applies the change from step {updated.Step}");
                    break;
            }

            Console.WriteLine(parse.GetValue(json) ? Json.Format(reply) : said);
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>The change of <c>--set path=value</c> pairs, as the JSON the coordinator reads (an argument error for a pair without '=').</summary>
    internal static string ChangeText(IReadOnlyList<string> pairs)
    {
        if (pairs.Count == 0)
        {
            throw new ArgumentException("--set: name at least one field to change, e.g. --set distillation.alpha=0.5");
        }

        var root = new System.Text.Json.Nodes.JsonObject();
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == pair.Length - 1)
            {
                throw new ArgumentException($"--set: '{pair}' is not path=value (e.g. distillation.alpha=0.5)");
            }

            var path = pair[..eq].Trim().Split('.');
            var text = pair[(eq + 1)..].Trim();
            var node = root;
            foreach (var part in path[..^1])
            {
                if (node[part] is not System.Text.Json.Nodes.JsonObject child)
                {
                    child = new System.Text.Json.Nodes.JsonObject();
                    node[part] = child;
                }

                node = child;
            }

            node[path[^1]] = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? System.Text.Json.Nodes.JsonValue.Create(number)
                : bool.TryParse(text, out var flag) ? System.Text.Json.Nodes.JsonValue.Create(flag)
                : System.Text.Json.Nodes.JsonValue.Create(text);
        }

        return root.ToJsonString();
    }

    private static CohortState ParseState(string name) => name.ToLowerInvariant() switch
    {
        "pending" => CohortState.Pending,
        "running" => CohortState.Running,
        "paused" => CohortState.Paused,
        "completed" => CohortState.Completed,
        "failed" => CohortState.Failed,
        "cancelled" => CohortState.Cancelled,
        _ => throw new ArgumentException($"--state: '{name}' is not a run state (pending, running, paused, completed, failed, cancelled)"),
    };

    private static Task<int> CallAsync(string what, CoordinatorTarget coordinator, ParseResult parse, Func<CohortService.CohortServiceClient, Task> call) =>
        coordinator.CallAsync(what, parse, channel => new CohortService.CohortServiceClient(channel), call);
}
