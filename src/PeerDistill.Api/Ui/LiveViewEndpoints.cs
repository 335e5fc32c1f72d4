using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Access;
using PeerDistill.Api.Rest;

namespace PeerDistill.Api.Ui;

/// <summary>
/// The coordinator's live view on its REST port: <c>/</c> redirects to <c>/ui/</c>, which serves one
/// HTML page, one script and one style sheet (<see cref="LiveViewAssets"/>; open to every caller, as
/// they hold no data). The page asks the API for everything it shows, with the bearer token the user
/// gives it. <c>POST /ui/session</c> (a reader's bearer token) opens a session of the Orleans
/// dashboard for the browser (<see cref="DashboardSessions"/>: a cookie for <c>/orleans</c> only);
/// <c>DELETE /ui/session</c> ends the caller's sessions.
/// </summary>
internal static class LiveViewEndpoints
{
    /// <summary>Where the live view is served.</summary>
    public const string Path = "/ui";

    public static IEndpointRouteBuilder MapLiveView(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", () => TypedResults.Redirect(Path + "/"))
            .AllowAnonymous()
            .ExcludeFromDescription();
        var ui = endpoints.MapGroup(Path).ExcludeFromDescription();
        ui.MapGet("/", (HttpContext context, LiveViewAssets assets) =>
                context.Request.Path.Value?.EndsWith('/') == true
                    ? assets.Serve("index.html", context)
                    : TypedResults.Redirect(Path + "/" + context.Request.QueryString))
            .AllowAnonymous();
        foreach (var file in LiveViewAssets.Files)
        {
            ui.MapGet("/" + file, (HttpContext context, LiveViewAssets assets) => assets.Serve(file, context))
                .AllowAnonymous();
        }

        ui.MapPost("/session", OpenSession)
            .WithName("OpenDashboardSession")
            .RequireAuthorization(AccessPolicies.Reader);
        ui.MapDelete("/session", EndSessions)
            .WithName("EndDashboardSessions")
            .RequireAuthorization(AccessPolicies.Reader);
        return endpoints;
    }

    private static IResult OpenSession(HttpContext context, DashboardSessions sessions)
    {
        var user = context.User;
        if (user.FindFirst(AccessClaims.Project)?.Value is { } project)
        {
            return RestProblems.Problem(StatusCodes.Status403Forbidden, "Forbidden", $"OpenDashboardSession: the Orleans dashboard shows the whole cluster; '{user.FindFirst(AccessClaims.Name)?.Value}' is confined to project '{project}'", []);
        }

        // A JWT's expiry ends the session no later (the JWT handler puts it in the result's properties).
        var expires = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Properties?.ExpiresUtc;
        string cookie;
        try
        {
            (cookie, _) = sessions.Open(user, expires, context.Connection.RemoteIpAddress?.ToString());
        }
        catch (CohortApiException e)
        {
            return RestProblems.From(e);
        }

        context.Response.Cookies.Append(DashboardSessions.CookieName, cookie, CookieOptions(context));
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.NoContent();
    }

    private static IResult EndSessions(HttpContext context, DashboardSessions sessions)
    {
        sessions.EndAll(context.User);
        context.Response.Cookies.Delete(DashboardSessions.CookieName, CookieOptions(context));
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.NoContent();
    }

    /// <summary>The session cookie's attributes: script cannot read it, no other site's request carries it, only the dashboard's path gets it; Secure over TLS.</summary>
    private static CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Path = DashboardSessions.Path,
        Secure = context.Request.IsHttps,
        IsEssential = true,
    };
}
