using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

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
            .WithSummary("Download one checkpoint (the engine's checkpoint file: model, optimizer and step)")
            .Produces<byte[]>(StatusCodes.Status200OK, "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(string cohort, string run, HttpRequest request, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var peer = RestRequests.StringQuery(request, "peer", 256);
            var checkpoints = await api.ListCheckpointsAsync(cohort, RunEndpoints.RunOf(run), peer, cancellationToken).ConfigureAwait(false);
            var view = await api.GetAsync("ListCheckpoints", cohort, RunEndpoints.RunOf(run), cancellationToken).ConfigureAwait(false);
            var resources = checkpoints.Select(c => new CheckpointResource(c.Peer, c.Step, c.Bytes, c.Written, DownloadPath(view.Cohort, view.Run, c.Peer, c.Step))).ToList();
            return TypedResults.Json(new CheckpointList(view.Cohort, view.Run, resources), RestJsonContext.Default.CheckpointList);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> DownloadAsync(string cohort, string run, string peer, string step, CohortApi api, CancellationToken cancellationToken)
    {
        try
        {
            if (!long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var wanted))
            {
                return RestProblems.Problem(StatusCodes.Status404NotFound, "Not found", $"'{RestRequests.Shorten(step)}' is not a step (a whole number)", []);
            }

            var checkpoints = await api.ListCheckpointsAsync(cohort, RunEndpoints.RunOf(run), peer, cancellationToken).ConfigureAwait(false);
            if (checkpoints.FirstOrDefault(c => c.Step == wanted) is not { } checkpoint)
            {
                return RestProblems.Problem(StatusCodes.Status404NotFound, "Not found", $"peer '{peer}' has no checkpoint of step {wanted} (its steps: {string.Join(", ", checkpoints.Select(c => c.Step))})", []);
            }

            var stream = new FileStream(checkpoint.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true);
            return TypedResults.File(stream, "application/octet-stream", $"{cohort}-{peer}-step-{wanted}.ckpt");
        }
        catch (CohortApiException e)
        {
            return RestProblems.From(e);
        }
        catch (IOException e)
        {
            return RestProblems.Problem(StatusCodes.Status404NotFound, "Not found", $"the checkpoint is gone ({e.Message})", []);
        }
    }

    private static string DownloadPath(string cohort, string run, string peer, long step) =>
        string.Create(CultureInfo.InvariantCulture, $"{RunEndpoints.Prefix}/runs/{Uri.EscapeDataString(cohort)}/{Uri.EscapeDataString(run)}/checkpoints/{Uri.EscapeDataString(peer)}/{step}");
}
