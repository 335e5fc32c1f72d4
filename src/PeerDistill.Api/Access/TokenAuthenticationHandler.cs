using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerDistill.Api.Access;

/// <summary>
/// Authenticates <c>Authorization: Bearer pd_...</c> with the API tokens of <see cref="TokenStore"/>:
/// no header, no result (the policy then challenges); a header that is not a valid, unexpired,
/// unrevoked token fails with the reason, which the 401 carries (an unknown id and a wrong secret
/// read the same). A GET under the Orleans dashboard's path without a header may instead carry the
/// cookie of a <see cref="DashboardSessions">dashboard session</see>; no other request is
/// authenticated by it.
/// </summary>
public sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenStore tokens, AccessOptions access, DashboardSessions sessions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiToken";

    /// <summary>The longest Authorization header read, in characters (a token is <see cref="ApiTokenFormat.Length"/>).</summary>
    public const int MaxHeaderLength = 8 * 1024;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (access.Bypassed)
        {
            return Success("benchmark", ApiRole.Admin, null, "benchmark");
        }

        if (!AccessResponses.TryReadBearer(Context, out var presented, out var problem))
        {
            return problem is not null ? Fail(problem)
                : DashboardSessions.Accepts(Request) ? await AuthenticateSessionAsync().ConfigureAwait(false)
                : AuthenticateResult.NoResult();
        }

        var (check, info) = await tokens.CheckAsync(presented, Context.RequestAborted).ConfigureAwait(false);
        switch (check)
        {
            case TokenCheck.Malformed:
                return Fail($"the bearer credential is not a PeerDistill API token ({ApiTokenFormat.Prefix}... of {ApiTokenFormat.Length} characters)" + (presented.Count(c => c == '.') == 2 ? " and the coordinator takes no JWTs (none configured)" : string.Empty));
            case TokenCheck.Unknown:
                return Fail("the API token is not known (a wrong or deleted token)");
            case TokenCheck.Revoked:
                return Fail($"the API token '{info!.Name}' was revoked at {info.Revoked:O}");
            case TokenCheck.Expired:
                return Fail($"the API token '{info!.Name}' expired at {info.Expires:O}");
        }

        return Success(info!.Name, info.Role, info.Project, "token:" + info.Id);
    }

    /// <summary>A GET under the dashboard's path: the session its cookie names, as long as it is open and its token still works.</summary>
    private async Task<AuthenticateResult> AuthenticateSessionAsync()
    {
        if (!Request.Cookies.TryGetValue(DashboardSessions.CookieName, out var cookie) || string.IsNullOrEmpty(cookie))
        {
            // No credential at all: the 401 says how to get one for a browser.
            AccessResponses.SetFailure(Context, $"no credentials: open the live view (/ui/) with a token, which opens a dashboard session (a cookie for {DashboardSessions.Path}), or send 'Authorization: Bearer <token>'");
            return AuthenticateResult.NoResult();
        }

        if (sessions.Find(cookie) is not { } session)
        {
            return Fail($"the dashboard session is unknown or has ended (a session lasts at most {DashboardSessions.Lifetime.TotalHours:0} h and ends when the coordinator restarts): open the live view (/ui/) again");
        }

        if (session.TokenId is not { } id)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(session.User, SchemeName));
        }

        var (check, info) = await tokens.CheckIdAsync(id, Context.RequestAborted).ConfigureAwait(false);
        if (check != TokenCheck.Valid)
        {
            sessions.End(cookie);
            return Fail(check switch
            {
                TokenCheck.Revoked => $"the API token '{info!.Name}' of the dashboard session was revoked at {info.Revoked:O}",
                TokenCheck.Expired => $"the API token '{info!.Name}' of the dashboard session expired at {info.Expires:O}",
                _ => "the API token of the dashboard session is not known any more",
            });
        }

        return Success(info!.Name, info.Role, info.Project, "token:" + info.Id);
    }

    private static AuthenticateResult Success(string name, ApiRole role, string? project, string credential)
    {
        var claims = new List<Claim>
        {
            new(AccessClaims.Name, name),
            new(AccessClaims.Kind, AccessClaims.TokenKind),
            new(AccessClaims.Role, ApiRoles.Name(role)),
            new(AccessClaims.Credential, credential),
        };
        if (project is not null)
        {
            claims.Add(new Claim(AccessClaims.Project, project));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, AccessClaims.Name, AccessClaims.Role));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private AuthenticateResult Fail(string reason)
    {
        AccessResponses.SetFailure(Context, reason);
        return AuthenticateResult.Fail(reason);
    }
}
