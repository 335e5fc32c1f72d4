using Microsoft.AspNetCore.Http;

namespace PeerDistill.Api.Rest;

/// <summary>Refusals as problems (RFC 9457): the status of each kind, the fields that were wrong under <c>errors</c>.</summary>
internal static class RestProblems
{
    /// <summary>The extension member listing each wrong field.</summary>
    public const string ErrorsMember = "errors";

    /// <summary>How long a client waits before retrying a call the cluster could not answer (seconds).</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Runs a handler; its refusals (of the request, or of the API) become problems.</summary>
    public static async Task<IResult> AnswerAsync(Func<Task<IResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        try
        {
            return await handler().ConfigureAwait(false);
        }
        catch (RestProblem e)
        {
            return From(e);
        }
        catch (CohortApiException e)
        {
            return From(e);
        }
    }

    public static IResult From(RestProblem problem) =>
        Problem(problem.Status, problem.Title, problem.Message, problem.Errors);

    public static IResult From(CohortApiException e)
    {
        var (status, title) = e.Error switch
        {
            ApiError.InvalidArgument => (StatusCodes.Status400BadRequest, "Invalid request"),
            ApiError.NotFound => (StatusCodes.Status404NotFound, "Not found"),
            ApiError.AlreadyExists => (StatusCodes.Status409Conflict, "Conflict"),
            ApiError.FailedPrecondition => (StatusCodes.Status409Conflict, "Not allowed in the run's state"),
            ApiError.StaleVersion => (StatusCodes.Status412PreconditionFailed, "Precondition failed"),
            ApiError.KeyReused => (StatusCodes.Status422UnprocessableEntity, "Idempotency key reused"),
            ApiError.Unavailable => (StatusCodes.Status503ServiceUnavailable, "Unavailable"),
            ApiError.PermissionDenied => (StatusCodes.Status403Forbidden, "Forbidden"),
            _ => throw new ArgumentOutOfRangeException(nameof(e), e.Error, "not an API error"),
        };
        var errors = e.SpecErrors.Select(s => new FieldProblem(s.Path, s.Message, s.Line > 0 ? s.Line : null, s.Column > 0 ? s.Column : null)).ToList();
        var result = Problem(status, title, e.Message, errors);
        return status == StatusCodes.Status503ServiceUnavailable ? new RetryAfter(result) : result;
    }

    public static IResult Problem(int status, string title, string detail, IReadOnlyList<FieldProblem> errors)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (errors.Count > 0)
        {
            extensions[ErrorsMember] = errors.ToList();
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>A result with a <c>Retry-After</c> header.</summary>
    private sealed class RetryAfter(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
