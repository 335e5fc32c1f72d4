using System.Globalization;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using PeerDistill.Api.Rest;

namespace PeerDistill.Api.Access;

/// <summary>
/// How the API reads a bearer credential and answers a refused one, the same for REST and gRPC: REST
/// gets a problem (401 with <c>WWW-Authenticate</c>, 403, 429 with <c>Retry-After</c>); gRPC gets a
/// trailers-only response with UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED and the
/// reason as its message.
/// </summary>
public static class AccessResponses
{
    /// <summary>The realm every challenge names.</summary>
    public const string Realm = "peerdistill";

    private const string FailureKey = "peerdistill.access.failure";

    /// <summary>Whether the request is a gRPC call.</summary>
    public static bool IsGrpc(HttpContext context) =>
        context.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The bearer credential of the request. False with a null <paramref name="problem"/> when it sends
    /// none; false with the problem when its Authorization header is not one bearer credential.
    /// </summary>
    public static bool TryReadBearer(HttpContext context, out string credential, out string? problem)
    {
        credential = string.Empty;
        problem = null;
        var values = context.Request.Headers.Authorization;
        if (StringValues.IsNullOrEmpty(values))
        {
            return false;
        }

        if (values.Count > 1)
        {
            problem = "the request has more than one Authorization header; send one: 'Bearer <token>'";
            return false;
        }

        var header = values[0]!;
        if (header.Length > TokenAuthenticationHandler.MaxHeaderLength)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"the Authorization header is {header.Length} characters long, more than the {TokenAuthenticationHandler.MaxHeaderLength} accepted");
            return false;
        }

        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            problem = "the Authorization header is not 'Bearer <token>'";
            return false;
        }

        credential = header[Bearer.Length..].Trim();
        if (credential.Length == 0)
        {
            problem = "the Authorization header's bearer credential is empty";
            return false;
        }

        return true;
    }

    /// <summary>Records why the request's credential was refused (the 401 says so).</summary>
    public static void SetFailure(HttpContext context, string reason) => context.Items[FailureKey] = reason;

    /// <summary>Why the request's credential was refused, if it was.</summary>
    public static string? Failure(HttpContext context) => context.Items.TryGetValue(FailureKey, out var reason) ? reason as string : null;

    /// <summary>401 / UNAUTHENTICATED for a request without a valid credential.</summary>
    public static Task UnauthenticatedAsync(HttpContext context, string reason, bool credentialPresented)
    {
        var challenge = credentialPresented
            ? $"Bearer realm=\"{Realm}\", error=\"invalid_token\", error_description=\"{Quoted(reason)}\""
            : $"Bearer realm=\"{Realm}\"";
        context.Response.Headers.WWWAuthenticate = challenge;
        return RefuseAsync(context, StatusCodes.Status401Unauthorized, StatusCode.Unauthenticated, "Unauthorized", reason);
    }

    /// <summary>403 / PERMISSION_DENIED for a caller whose role does not allow the call.</summary>
    public static Task ForbiddenAsync(HttpContext context, string reason) =>
        RefuseAsync(context, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Forbidden", reason);

    /// <summary>429 / RESOURCE_EXHAUSTED for a caller over its rate limit.</summary>
    public static Task RateLimitedAsync(HttpContext context, string reason, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return RefuseAsync(context, StatusCodes.Status429TooManyRequests, StatusCode.ResourceExhausted, "Too many requests", reason);
    }

    private static async Task RefuseAsync(HttpContext context, int httpStatus, StatusCode grpcStatus, string title, string detail)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        if (IsGrpc(context))
        {
            // A trailers-only response: HTTP 200 and the status in the headers, as gRPC servers answer
            // a call refused before its first message.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)grpcStatus).ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = PercentEncode(detail);
            return;
        }

        await RestProblems.Problem(httpStatus, title, detail, []).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>A grpc-message value: printable ASCII but '%' as is, everything else percent-encoded as UTF-8 (the gRPC over HTTP/2 rule).</summary>
    private static string PercentEncode(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static string Quoted(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is '"' or '\\' ? '\'' : c is < ' ' or > '~' ? '?' : c);
        }

        return builder.ToString();
    }
}
