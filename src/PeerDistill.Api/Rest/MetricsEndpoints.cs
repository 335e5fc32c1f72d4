using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Storage;

namespace PeerDistill.Api.Rest;

/// <summary>A run's metrics history from the database: <c>/api/v1/runs/{cohort}/{run}/metrics</c>.</summary>
internal static class MetricsEndpoints
{
    /// <summary>The most peers one query may name.</summary>
    public const int MaxPeers = 64;

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

    private static async Task<IResult> GetAsync(string cohort, string run, HttpRequest request, CohortApi api, IRunStore store, CancellationToken cancellationToken)
    {
        try
        {
            var peers = request.Query["peer"];
            if (peers.Count > MaxPeers || peers.Any(p => string.IsNullOrEmpty(p) || p.Length > 256))
            {
                throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"peer: name at most {MaxPeers} peers, each 1 to 256 characters")
                {
                    Errors = [new FieldProblem("peer", $"at most {MaxPeers} peers, each 1 to 256 characters", null, null)],
                };
            }

            var from = RestRequests.IntQuery(request, "from", 0, int.MaxValue, 0);
            var to = RestRequests.IntQuery(request, "to", 0, int.MaxValue, int.MaxValue);
            var max = RestRequests.IntQuery(request, "max_points", 1, MetricsQuery.MaxPoints, MetricsQuery.MaxPoints);
            if (from > to)
            {
                throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"from ({from}) is after to ({to})");
            }

            var view = await api.GetAsync("GetRunMetrics", cohort, run == "latest" ? string.Empty : run, cancellationToken).ConfigureAwait(false);
            var rows = await store.QueryMetricsAsync(new RunKey(view.Cohort, view.Run), new MetricsQuery(peers.Count == 0 ? null : peers.Select(p => p!).ToList(), from, to, max), cancellationToken).ConfigureAwait(false);
            var points = rows.Select(r => new MetricPointResource(r.Peer, r.Step, r.Time, r.Loss, r.CrossEntropy, r.Distillation, r.Hint, r.LearningRate, r.SamplesPerSecond, r.Accuracy, r.EvalLoss)).ToList();
            return TypedResults.Json(new MetricsResource(view.Cohort, view.Run, points), RestJsonContext.Default.MetricsResource);
        }
        catch (RestProblem e)
        {
            return RestProblems.From(e);
        }
        catch (CohortApiException e)
        {
            return RestProblems.From(e);
        }
    }
}
