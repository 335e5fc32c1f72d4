using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;

namespace PeerDistill.Api.Rest;

/// <summary>A run's metrics history from the database: <c>/api/v1/runs/{cohort}/{run}/metrics</c>.</summary>
internal static class MetricsEndpoints
{
    public static IEndpointRouteBuilder MapMetricsEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGroup(RunEndpoints.Prefix + "/runs").WithTags("runs")
            .MapGet("/{cohort}/{run}/metrics", GetAsync)
            .WithName("GetRunMetrics")
            .WithSummary("A run's metrics history: per peer and step, loss and its terms, learning rate, throughput, test accuracy")
            .WithDescription("Query: peer (repeatable; default every peer), from and to (steps, inclusive), max_points (1-100000 per peer: every k-th recorded row is kept, from the first; never averages).")
            .Produces<MetricsResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string cohort, string run, HttpRequest request, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var peers = request.Query["peer"];
            if (peers.Count > MetricsFilter.MaxPeers)
            {
                throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"peer: name at most {MetricsFilter.MaxPeers} peers");
            }

            var filter = new MetricsFilter(
                [.. peers.Select(p => p ?? string.Empty)],
                RestRequests.IntQuery(request, "from", 0, int.MaxValue, 0),
                RestRequests.IntQuery(request, "to", 0, int.MaxValue, int.MaxValue),
                RestRequests.IntQuery(request, "max_points", 1, MetricsFilter.MaxPoints, MetricsFilter.MaxPoints));
            var (view, points) = await api.MetricsAsync(ApiCaller.From(request.HttpContext), cohort, RunEndpoints.RunOf(run), filter, cancellationToken).ConfigureAwait(false);
            var resources = points.Select(r => new MetricPointResource(r.Peer, r.Step, r.Time, r.Loss, r.CrossEntropy, r.Distillation, r.Hint, r.LearningRate, r.SamplesPerSecond, r.Accuracy, r.EvalLoss)).ToList();
            return TypedResults.Json(new MetricsResource(view.Cohort, view.Run, resources), RestJsonContext.Default.MetricsResource);
        }).ConfigureAwait(false);
    }
}
