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
/// read the same).
/// </summary>
public sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenStore tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiToken";

    /// <summary>The longest Authorization header read, in characters (a token is <see cref="ApiTokenFormat.Length"/>).</summary>
    public const int MaxHeaderLength = 8 * 1024;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AccessResponses.TryReadBearer(Context, out var presented, out var problem))
        {
            return problem is null ? AuthenticateResult.NoResult() : Fail(problem);
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

        var claims = new List<Claim>
        {
            new(AccessClaims.Name, info!.Name),
            new(AccessClaims.Kind, AccessClaims.TokenKind),
            new(AccessClaims.Role, ApiRoles.Name(info.Role)),
            new(AccessClaims.Credential, "token:" + info.Id),
        };
        if (info.Project is not null)
        {
            claims.Add(new Claim(AccessClaims.Project, info.Project));
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
