using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

using PeerDistill.Api.Access;

namespace PeerDistill.Api.Rest;

/// <summary>A run's checkpoints: <c>/api/v1/runs/{cohort}/{run}/checkpoints</c>, and the download of one.</summary>
internal static class CheckpointEndpoints
{
    public static IEndpointRouteBuilder MapCheckpointEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var runs = endpoints.MapGroup(RunEndpoints.Prefix + "/runs").WithTags("runs");
        runs.MapGet("/{cohort}/{run}/checkpoints", ListAsync)
            .WithName("ListCheckpoints")
            .WithSummary("A run's checkpoints: per peer, the step each holds, its size and when it was written")
            .WithDescription("Query: peer (only its checkpoints).")
            .Produces<CheckpointList>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapGet("/{cohort}/{run}/checkpoints/{peer}/{step}", DownloadAsync)
            .WithName("DownloadCheckpoint")
            .WithSummary("Download one checkpoint: the engine's checkpoint file (model, optimizer and step), or the model alone as TorchScript for PyTorch")
            .WithDescription("step: a step the peer holds a checkpoint of, or 'latest' for its newest. Query: format (checkpoint, the default: the .ckpt file the engine restores; torchscript: the model in evaluation mode on the CPU, a .pt file that torch.jit.load reads).")
            .Produces<byte[]>(StatusCodes.Status200OK, "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(string cohort, string run, HttpRequest request, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var peer = RestRequests.StringQuery(request, "peer", 256);
            var (view, checkpoints) = await api.ListCheckpointsAsync(ApiCaller.From(request.HttpContext), cohort, RunEndpoints.RunOf(run), peer, cancellationToken).ConfigureAwait(false);
            var resources = checkpoints.Select(c => new CheckpointResource(c.Peer, c.Step, c.Bytes, c.Written, DownloadPath(view.Cohort, view.Run, c.Peer, c.Step))).ToList();
            return TypedResults.Json(new CheckpointList(view.Cohort, view.Run, resources), RestJsonContext.Default.CheckpointList);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> DownloadAsync(string cohort, string run, string peer, string step, HttpRequest request, CohortApi api, CheckpointExporter exporter, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            long? wanted = null;
            if (step != "latest")
            {
                if (!long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    return RestProblems.Problem(StatusCodes.Status404NotFound, "Not found", $"'{RestRequests.Shorten(step)}' is not a step (a whole number, or 'latest')", []);
                }

                wanted = number;
            }

            var format = RestRequests.StringQuery(request, "format", 32) ?? "checkpoint";
            if (format is not ("checkpoint" or "torchscript"))
            {
                throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"format: '{RestRequests.Shorten(format)}' is not a format; use checkpoint or torchscript")
                {
                    Errors = [new FieldProblem("format", "use checkpoint or torchscript", null, null)],
                };
            }

            var checkpoint = await api.FindCheckpointAsync(ApiCaller.From(request.HttpContext), cohort, RunEndpoints.RunOf(run), peer, wanted, cancellationToken).ConfigureAwait(false);
            var torchScript = format == "torchscript";
            var content = await exporter.OpenAsync(checkpoint, torchScript, cancellationToken).ConfigureAwait(false);
            return TypedResults.File(content, "application/octet-stream", CheckpointExporter.FileName(cohort, checkpoint, torchScript));
        }).ConfigureAwait(false);
    }

    private static string DownloadPath(string cohort, string run, string peer, long step) =>
        string.Create(CultureInfo.InvariantCulture, $"{RunEndpoints.Prefix}/runs/{Uri.EscapeDataString(cohort)}/{Uri.EscapeDataString(run)}/checkpoints/{Uri.EscapeDataString(peer)}/{step}");
}
