using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli;

/// <summary>`peerdistill status [cohort] --coordinator URL [--watch]`: the cohorts a coordinator runs, or one cohort live.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var cohort = new Argument<string?>("cohort") { Description = "A cohort name (omit to list every cohort).", Arity = ArgumentArity.ZeroOrOne };
        var coordinator = new CoordinatorTarget();
        var run = new Option<string?>("--run") { Description = "A run of the cohort (default: its latest)." };
        var watch = new Option<bool>("--watch") { Description = "Follow the cohort live until it ends." };
        var command = coordinator.AddTo(new Command("status", "Show the cohorts of a coordinator, or one cohort's peers (live with --watch).") { cohort, run, watch });
        command.SetAction(async (parse, cancellation) =>
        {
            Grpc.Net.Client.GrpcChannel channel;
            try
            {
                channel = coordinator.Open(parse);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"status: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            using var owned = channel;
            var client = new CohortService.CohortServiceClient(channel);
            var name = parse.GetValue(cohort);
            try
            {
                if (string.IsNullOrEmpty(name))
                {
                    var list = await client.ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    if (list.Cohorts.Count == 0)
                    {
                        Console.WriteLine("no cohorts");
                    }

                    foreach (var c in list.Cohorts)
                    {
                        var done = c.Peers.Count(p => p.State == PeerState.Completed);
                        Console.WriteLine($"{c.Cohort,-24} {c.Run,-36} {CohortStatusView.Name(c.State),-10} {done}/{c.Peers.Count} peers done");
                    }

                    return ExitCodes.Ok;
                }

                var request = new GetCohortRequest { Cohort = name, Run = parse.GetValue(run) ?? string.Empty };
                if (!parse.GetValue(watch))
                {
                    var status = await client.GetCohortAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                    CohortStatusView.Render(status).ForEach(Console.WriteLine);
                    return ExitCodes.Ok;
                }

                return await WatchAsync(channel, request, cancellation).ConfigureAwait(false);
            }
            catch (RpcException e) when (CoordinatorTarget.Denied(e) is { } denied)
            {
                Console.Error.WriteLine($"status: {e.StatusCode}: {denied.Message}");
                return denied.ExitCode;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"status: {e.StatusCode}: {e.Status.Detail}");
                return e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument ? ExitCodes.InvalidInput : ExitCodes.Failed;
            }
        });
        return command;
    }

    /// <summary>Follows a cohort until it ends; exit code 0 when it completed.</summary>
    public static async Task<int> WatchAsync(GrpcChannel channel, GetCohortRequest request, CancellationToken cancellation)
    {
        var view = new CohortStatusView(Console.Out, !Console.IsOutputRedirected);
        using var call = new CohortService.CohortServiceClient(channel).WatchCohort(request, cancellationToken: cancellation);
        CohortStatus? last = null;
        while (await call.ResponseStream.MoveNext(cancellation).ConfigureAwait(false))
        {
            last = call.ResponseStream.Current;
            view.Draw(last);
            if (CohortStatusView.IsFinished(last.State))
            {
                break;
            }
        }

        if (last is null)
        {
            return ExitCodes.Failed;
        }

        return last.State == CohortState.Completed ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
