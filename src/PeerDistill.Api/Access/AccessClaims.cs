using System.Security.Claims;

namespace PeerDistill.Api.Access;

/// <summary>
/// The claims every authenticated caller carries, whatever its credential (an API token or a JWT):
/// the handlers of both turn their credential into these, and policies and handlers read only these.
/// </summary>
public static class AccessClaims
{
    /// <summary>The caller's role (<see cref="ApiRoles"/>); absent: the caller may do nothing.</summary>
    public const string Role = "peerdistill:role";

    /// <summary>The project the caller is confined to; absent: every project.</summary>
    public const string Project = "peerdistill:project";

    /// <summary>Who the caller is in the audit trail and the logs: a token's name or a JWT's subject.</summary>
    public const string Name = "peerdistill:name";

    /// <summary>What kind of credential: <see cref="TokenKind"/> or <see cref="JwtKind"/>.</summary>
    public const string Kind = "peerdistill:kind";

    /// <summary>The credential's stable id (a token's id, a JWT's issuer and subject): the rate limiter's partition.</summary>
    public const string Credential = "peerdistill:credential";

    public const string TokenKind = "token";
    public const string JwtKind = "jwt";

    /// <summary>The caller's role, or null when it has none (or is not authenticated).</summary>
    public static ApiRole? RoleOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.Identity?.IsAuthenticated == true ? ApiRoles.Parse(user.FindFirst(Role)?.Value) : null;
    }
}
