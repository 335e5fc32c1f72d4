using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.Dashboard;
using PeerDistill.Api.Access;
using PeerDistill.Api.Rest;

namespace PeerDistill.Api.Ui;

/// <summary>
/// The Orleans dashboard (Microsoft.Orleans.Dashboard: its pages and JSON from the package, no network)
/// under <see cref="DashboardSessions.Path"/>, for readers: a bearer token, or the cookie of a dashboard
/// session (a browser's way in: <see cref="DashboardSessions"/>). It shows the whole cluster, so a
/// credential confined to a project is refused (403). Its grain state view is refused to everyone
/// (403): it activates any grain by a key from the query and calls its parameterless methods by
/// reflection, which is a run's (any project's) data and a grain call for a GET. Its JSON answers are
/// written by <see cref="OrleansDashboardJson"/> (they work in the trimmed publish).
/// </summary>
internal static class OrleansDashboardEndpoints
{
    /// <summary>The dashboard's route that is not served.</summary>
    public const string GrainStateRoute = "/GrainState";

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

        if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText?.EndsWith(GrainStateRoute, StringComparison.Ordinal) == true)
        {
            return RestProblems.Problem(StatusCodes.Status403Forbidden, "Forbidden", $"{context.Request.Path}: the dashboard's grain state view is not served by PeerDistill (it calls grain methods by reflection); the API shows runs", []);
        }

        return OrleansDashboardJson.Rewrite(await next(invocation).ConfigureAwait(false));
    }
}
