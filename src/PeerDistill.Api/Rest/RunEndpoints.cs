using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;
using PeerDistill.Core.Spec;

namespace PeerDistill.Api.Rest;

/// <summary>
/// The cohort API over REST (JSON on HTTP/1.1): runs under <c>/api/v1/runs</c>. Handlers translate
/// HTTP to <see cref="CohortApi"/> calls and its read model to the JSON resources; every refusal is a
/// problem (RFC 9457, <c>application/problem+json</c>) with its status: 400 a bad request (every wrong
/// field of a spec with its path and line under <c>errors</c>), 404 no such run, 409 a state change not
/// allowed, 412 a stale <c>If-Match</c>, 413 a body over the limit, 415 a wrong content type, 422 an
/// idempotency key reused for another request, 503 the cluster cannot answer now (with Retry-After).
/// </summary>
internal static class RunEndpoints
{
    /// <summary>The path prefix of the REST API's version 1.</summary>
    public const string Prefix = "/api/v1";

    /// <summary>The header that makes a submission safe to retry.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The header that marks the answer to a retried submission.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>The largest body of a request that is not a spec (a cancellation's reason), in bytes.</summary>
    public const int MaxSmallBodyBytes = 16 * 1024;

    private const string Tag = "runs";

    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var runs = endpoints.MapGroup(Prefix + "/runs").WithTags(Tag).RequireAuthorization(AccessPolicies.Reader);
        runs.MapGet("/", ListAsync)
            .WithName("ListRuns")
            .WithSummary("List runs, newest first")
            .WithDescription("Query: state (pending, running, completed, failed, cancelled), cohort, limit (1-500, default 50), cursor (next_cursor of the previous page).")
            .Produces<RunPage>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapPost("/", SubmitAsync)
            .WithName("SubmitRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Submit a cohort spec: start a run of it")
            .WithDescription("The body is the cohort spec, as the YAML or JSON cohort file. An Idempotency-Key header makes the call safe to retry: the same key with the same spec answers the run the first call started (200, Idempotent-Replayed: true).")
            .AddOpenApiOperationTransformer((operation, context, cancellationToken) => OpenApiBodies.SpecAsync(operation, RestRequests.SpecMediaTypes.Keys))
            .Produces<RunResource>(StatusCodes.Status201Created)
            .Produces<RunResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapGet("/{cohort}/{run}", GetAsync)
            .WithName("GetRun")
            .WithSummary("One run: its state, peers (placement, generation, step, loss, accuracy) and events")
            .Produces<RunResource>(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapDelete("/{cohort}/{run}", DeleteAsync)
            .WithName("DeleteRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Delete a run that has ended: its record and metrics history; its files too with files=true")
            .WithDescription("Query: files (true: also the run's output and checkpoint directories, under the coordinator's roots). Optional If-Match with the run's ETag. 409 for a run that has not ended (cancel it first).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapPost("/{cohort}/{run}/cancel", CancelAsync)
            .WithName("CancelRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Cancel a run (a run that has ended keeps its state)")
            .WithDescription("Optional JSON body {\"reason\": \"...\"}; optional If-Match with the run's ETag.")
            .AddOpenApiOperationTransformer((operation, context, cancellationToken) => OpenApiBodies.JsonAsync<CancelRequest>(operation, context, required: false, cancellationToken))
            .Produces<RunResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapPost("/{cohort}/{run}/pause", (string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken) =>
                SteerAsync(cohort, run, context, api, (c, r) => api.PauseAsync(ApiCaller.From(context), c, r, cancellationToken), cancellationToken))
            .WithName("PauseRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Pause a running run: every peer stops at one step none had started, checkpoints it and releases its slot")
            .WithDescription("Answers once every peer has stopped, with that step. Optional If-Match with the run's ETag.")
            .Produces<SteerResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapPost("/{cohort}/{run}/resume", (string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken) =>
                SteerAsync(cohort, run, context, api, (c, r) => api.ResumeAsync(ApiCaller.From(context), c, r, cancellationToken), cancellationToken))
            .WithName("ResumeRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Resume a paused run: its peers are placed again and go on from the pause step")
            .Produces<SteerResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapPost("/{cohort}/{run}/changes", ChangeAsync)
            .WithName("ChangeRun")
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Change a running run: every peer applies the change at one announced future step")
            .WithDescription("The body sets fields of an entry of the spec's `changes`, without its step (YAML or JSON, e.g. {\"distillation\": {\"alpha\": 0.5}}): alpha and its warm-up, temperature, lr_scale, evaluation and checkpoint cadence. Any other field is refused with the reason. The change is recorded with its step, so a resume or a re-run reproduces it.")
            .AddOpenApiOperationTransformer((operation, context, cancellationToken) => OpenApiBodies.ChangeAsync(operation, RestRequests.SpecMediaTypes.Keys))
            .Produces<SteerResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        runs.MapGet("/{cohort}/{run}/events", WatchAsync)
            .WithName("WatchRun")
            .WithSummary("Watch a run: server-sent events, one `run` event (the whole run) per change, until it ends")
            .WithDescription("Each event's id is the run's version; after a disconnect, send it back as Last-Event-ID and the stream resumes with the first newer state.")
            .Produces<RunResource>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(HttpRequest request, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var stateText = RestRequests.StringQuery(request, "state", 32);
            RunState? state = null;
            if (stateText is not null)
            {
                state = RestResources.StateNamed(stateText) is { } known
                    ? RestResources.ToModel(known)
                    : throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"state: '{RestRequests.Shorten(stateText)}' is not a run state (pending, running, completed, failed, cancelled)")
                    {
                        Errors = [new FieldProblem("state", "not a run state (pending, running, completed, failed, cancelled)", null, null)],
                    };
            }

            var filter = new RunFilter(
                state,
                RestRequests.StringQuery(request, "cohort", 256),
                RestRequests.IntQuery(request, "limit", 1, CohortApi.MaxPageSize, RunFilter.DefaultPageSize),
                RestRequests.StringQuery(request, "cursor", 128));
            var page = await api.ListAsync(ApiCaller.From(request.HttpContext), filter, cancellationToken).ConfigureAwait(false);
            return TypedResults.Json(new RunPage(page.Runs.Select(RestResources.From).ToList(), page.NextCursor), RestJsonContext.Default.RunPage);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var request = context.Request;
            var mediaType = RestRequests.MediaType(request, RestRequests.SpecMediaTypes.Keys);
            var key = request.Headers[IdempotencyKeyHeader] is { Count: > 0 } keys ? string.Join(",", keys.ToArray()) : null;
            var text = await RestRequests.ReadTextAsync(request, SpecLimits.MaxBytes, cancellationToken).ConfigureAwait(false);
            var submitted = await api.SubmitAsync(ApiCaller.From(context), text, RestRequests.SpecMediaTypes[mediaType], key, cancellationToken).ConfigureAwait(false);
            var run = await api.GetAsync(ApiCaller.From(context), "Submit", submitted.Cohort, submitted.Run, cancellationToken).ConfigureAwait(false);
            context.Response.Headers.ETag = RestResources.ETag(run);
            context.Response.Headers.Location = Location(submitted.Cohort, submitted.Run);
            if (submitted.Replayed)
            {
                context.Response.Headers[ReplayedHeader] = "true";
            }

            return TypedResults.Json(RestResources.From(run), RestJsonContext.Default.RunResource, statusCode: submitted.Replayed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> GetAsync(string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var view = await api.GetAsync(ApiCaller.From(context), "GetRun", cohort, RunOf(run), cancellationToken).ConfigureAwait(false);
            var etag = RestResources.ETag(view);
            context.Response.Headers.ETag = etag;
            if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Select(t => t.Trim()).Any(t => t == etag || t == "W/" + etag || t == "*")))
            {
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);
            }

            return TypedResults.Json(RestResources.From(view), RestJsonContext.Default.RunResource);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> CancelAsync(string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var request = context.Request;
            var expected = RestRequests.IfMatch(request);
            string? reason = null;
            if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
            {
                RestRequests.MediaType(request, ["application/json"]);
                var text = await RestRequests.ReadTextAsync(request, MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
                reason = ParseJson(text, RestJsonContext.Default.CancelRequest)?.Reason;
            }

            var view = await api.CancelAsync(ApiCaller.From(context), cohort, RunOf(run), reason ?? string.Empty, expected, cancellationToken).ConfigureAwait(false);
            context.Response.Headers.ETag = RestResources.ETag(view);
            return TypedResults.Json(RestResources.From(view), RestJsonContext.Default.RunResource);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> SteerAsync(string cohort, string run, HttpContext context, CohortApi api, Func<string, string, Task<SteerResult>> steer, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            await CheckIfMatchAsync(context.Request, api, cohort, run, cancellationToken).ConfigureAwait(false);
            var result = await steer(cohort, RunOf(run)).ConfigureAwait(false);
            context.Response.Headers.ETag = RestResources.ETag(result.Run);
            return TypedResults.Json(new SteerResource(result.Step, RestResources.From(result.Run)), RestJsonContext.Default.SteerResource);
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> ChangeAsync(string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var request = context.Request;
            RestRequests.MediaType(request, RestRequests.SpecMediaTypes.Keys);
            var text = await RestRequests.ReadTextAsync(request, MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
            await CheckIfMatchAsync(request, api, cohort, run, cancellationToken).ConfigureAwait(false);
            var result = await api.UpdateAsync(ApiCaller.From(context), cohort, RunOf(run), text, cancellationToken).ConfigureAwait(false);
            context.Response.Headers.ETag = RestResources.ETag(result.Run);
            return TypedResults.Json(new SteerResource(result.Step, RestResources.From(result.Run)), RestJsonContext.Default.SteerResource);
        }).ConfigureAwait(false);
    }

    /// <summary>A 412 unless the run is still at the version an If-Match names.</summary>
    private static async Task CheckIfMatchAsync(HttpRequest request, CohortApi api, string cohort, string run, CancellationToken cancellationToken)
    {
        if (RestRequests.IfMatch(request) is { } expected)
        {
            var view = await api.GetAsync(ApiCaller.From(request.HttpContext), "IfMatch", cohort, RunOf(run), cancellationToken).ConfigureAwait(false);
            if (view.Version != expected)
            {
                throw new RestProblem(StatusCodes.Status412PreconditionFailed, "Precondition failed", $"If-Match: cohort '{view.Cohort}' run '{view.Run}' is at version {view.Version}, not {expected}; read it again and decide again");
            }
        }
    }

    private static async Task<IResult> DeleteAsync(string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            var files = RestRequests.StringQuery(context.Request, "files", 8) switch
            {
                null or "false" => false,
                "true" => true,
                var other => throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"files: '{RestRequests.Shorten(other)}' is neither true nor false")
                {
                    Errors = [new FieldProblem("files", "true or false", null, null)],
                },
            };
            await api.DeleteAsync(ApiCaller.From(context), cohort, RunOf(run), files, RestRequests.IfMatch(context.Request), cancellationToken).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).ConfigureAwait(false);
    }

    private static async Task<IResult> WatchAsync(string cohort, string run, HttpContext context, CohortApi api, CancellationToken cancellationToken)
    {
        return await RestProblems.AnswerAsync(async () =>
        {
            long? after = null;
            if (context.Request.Headers["Last-Event-ID"] is { Count: > 0 } last)
            {
                after = long.TryParse(last[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                    ? id
                    : throw new RestProblem(StatusCodes.Status400BadRequest, "Bad Last-Event-ID", $"Last-Event-ID: '{RestRequests.Shorten(last[0])}' is not an event id of this stream (a run version, a whole number)");
            }

            // Refusals (no such run) are answered before the stream starts.
            var first = await api.GetAsync(ApiCaller.From(context), "WatchRun", cohort, RunOf(run), cancellationToken).ConfigureAwait(false);
            return TypedResults.ServerSentEvents(Events(api, ApiCaller.From(context), first, after, cancellationToken));
        }).ConfigureAwait(false);
    }

    private static async IAsyncEnumerable<SseItem<string>> Events(CohortApi api, ApiCaller caller, RunView first, long? after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var view in api.WatchAsync(caller, first.Cohort, first.Run, after, cancellationToken).ConfigureAwait(false))
        {
            yield return new SseItem<string>(JsonSerializer.Serialize(RestResources.From(view), RestJsonContext.Default.RunResource), "run")
            {
                EventId = view.Version.ToString(CultureInfo.InvariantCulture),
            };
        }
    }

    /// <summary>The run segment of a path: <c>latest</c> names the cohort's most recent run.</summary>
    internal static string RunOf(string run) => run == "latest" ? string.Empty : run;

    private static string Location(string cohort, string run) =>
        $"{Prefix}/runs/{Uri.EscapeDataString(cohort)}/{Uri.EscapeDataString(run)}";

    internal static T? ParseJson<T>(string text, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(text, type);
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) ? string.Empty : e.Path.TrimStart('$', '.');
            var line = e.LineNumber is { } l ? (int)l + 1 : (int?)null;
            throw new RestProblem(StatusCodes.Status400BadRequest, "Bad JSON body", $"the body is not a {typeof(T).Name} ({RestRequests.Shorten(e.Message)})")
            {
                Errors = [new FieldProblem(path, RestRequests.Shorten(e.Message), line, e.BytePositionInLine is { } c ? (int)c + 1 : null)],
            };
        }
    }
}
