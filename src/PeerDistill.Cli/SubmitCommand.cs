using System.CommandLine;
using Grpc.Core;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli;

/// <summary>`peerdistill submit spec.yaml --coordinator URL [--wait]`: hands a cohort to a coordinator.</summary>
internal static class SubmitCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "Cohort spec (YAML or JSON)." };
        var coordinator = new CoordinatorTarget();
        var wait = new Option<bool>("--wait") { Description = "Follow the cohort live until it ends; exit code 0 only if it completed." };
        var command = coordinator.AddTo(new Command("submit", "Submit a cohort spec to a coordinator, which places its peers on workers.") { spec, wait });
        command.SetAction(async (parse, cancellation) =>
        {
            var path = parse.GetValue(spec)!;
            // Check it here first: the same loader, the same one-line-per-problem report.
            if (SpecFile.Load(path, Console.Error) is null)
            {
                return ExitCodes.InvalidInput;
            }

            Grpc.Net.Client.GrpcChannel channel;
            try
            {
                channel = coordinator.Open(parse);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"submit: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            using var owned = channel;
            try
            {
                var format = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? "json" : "yaml";
                var request = new SubmitCohortRequest { SpecText = await File.ReadAllTextAsync(path, cancellation).ConfigureAwait(false), SpecFormat = format };
                var reply = await new CohortService.CohortServiceClient(channel).SubmitAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                Console.WriteLine($"submitted cohort {reply.Cohort} as run {reply.Run}");
                return parse.GetValue(wait)
                    ? await StatusCommand.WatchAsync(channel, new GetCohortRequest { Cohort = reply.Cohort, Run = reply.Run }, cancellation).ConfigureAwait(false)
                    : ExitCodes.Ok;
            }
            catch (RpcException e) when (CoordinatorTarget.Denied(e) is { } denied)
            {
                Console.Error.WriteLine($"submit: {e.StatusCode}: {denied.Message}");
                return denied.ExitCode;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"submit: {e.StatusCode}: {e.Status.Detail}");
                return e.StatusCode is StatusCode.InvalidArgument or StatusCode.AlreadyExists ? ExitCodes.InvalidInput : ExitCodes.Failed;
            }
        });
        return command;
    }
}
