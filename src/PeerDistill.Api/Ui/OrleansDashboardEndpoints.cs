using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.Dashboard;
using Orleans.Runtime;
using PeerDistill.Api.Access;
using PeerDistill.Api.Rest;

namespace PeerDistill.Api.Ui;

/// <summary>
/// The Orleans dashboard (Microsoft.Orleans.Dashboard: its pages and JSON from the package, no network)
/// under <see cref="DashboardSessions.Path"/>, for readers: a bearer token, or the cookie of a dashboard
/// session (a browser's way in: <see cref="DashboardSessions"/>). It shows the whole cluster, so a
/// credential confined to a project is refused (403). Its grain state view is refused to everyone
/// (403): it activates any grain by a key from the query and calls its parameterless methods by
/// reflection, which is a run's (any project's) data and a grain call for a GET. A per-silo route
/// given something that is not a silo address is a 400 (the package would activate a grain keyed by
/// it and fail with 500). Its JSON answers are written by <see cref="OrleansDashboardJson"/> (they
/// work in the trimmed publish).
/// </summary>
internal static class OrleansDashboardEndpoints
{
    /// <summary>The dashboard's route that is not served.</summary>
    public const string GrainStateRoute = "/GrainState";

    /// <summary>The dashboard's per-silo routes: each ends with a silo address (<c>/SiloStats/{*address}</c>, <c>/HistoricalStats/{*path}</c>, ...).</summary>
    private static readonly string[] SiloRoutes = ["/HistoricalStats/", "/SiloProperties/", "/SiloMetadata/", "/SiloStats/", "/SiloCounters/"];

    public static IEndpointRouteBuilder MapPeerDistillOrleansDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapOrleansDashboard(DashboardSessions.Path)
            .RequireAuthorization(AccessPolicies.Reader)
            .ExcludeFromDescription()
            .AddEndpointFilter(FilterAsync);
        return endpoints;
    }

    /// <summary>Refuses a project's credential and the grain state view; writes the dashboard's JSON with <see cref="OrleansDashboardJson"/>.</summary>
    private static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (context.User.FindFirst(AccessClaims.Project)?.Value is { } project)
        {
            return RestProblems.Problem(StatusCodes.Status403Forbidden, "Forbidden", $"{context.Request.Path}: the Orleans dashboard shows the whole cluster; '{context.User.FindFirst(AccessClaims.Name)?.Value}' is confined to project '{project}'", []);
        }

        var pattern = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern;
        if (pattern?.RawText?.EndsWith(GrainStateRoute, StringComparison.Ordinal) == true)
        {
            return RestProblems.Problem(StatusCodes.Status403Forbidden, "Forbidden", $"{context.Request.Path}: the dashboard's grain state view is not served by PeerDistill (it calls grain methods by reflection); the API shows runs", []);
        }

        // The dashboard's per-silo routes activate a grain keyed by the address they are given, and
        // fail (500, a logged stack trace) on one that is not a silo address.
        if (pattern?.RawText is { } route && SiloRoutes.Any(r => route.Contains(r, StringComparison.Ordinal))
            && pattern.Parameters.FirstOrDefault(p => p.IsCatchAll) is { } parameter
            && context.GetRouteValue(parameter.Name) as string is var address && (address is null || !IsSiloAddress(address)))
        {
            return RestProblems.Problem(StatusCodes.Status400BadRequest, "Bad silo address", $"{context.Request.Path}: '{RestRequests.Shorten(address ?? string.Empty)}' is not a silo address (host:port@generation, as DashboardCounters lists them)", []);
        }

        return OrleansDashboardJson.Rewrite(await next(invocation).ConfigureAwait(false));
    }

    private static bool IsSiloAddress(string text)
    {
        try
        {
            _ = SiloAddress.FromParsableString(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            return false;
        }
    }
}
