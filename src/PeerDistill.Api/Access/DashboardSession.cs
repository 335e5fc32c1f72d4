using System.Security.Claims;

namespace PeerDistill.Api.Access;

/// <summary>One open session of the Orleans dashboard (<see cref="DashboardSessions"/>).</summary>
/// <param name="Credential">The credential that opened it (<see cref="AccessClaims.Credential"/>: <c>token:&lt;id&gt;</c> or <c>jwt:&lt;issuer&gt;/&lt;subject&gt;</c>).</param>
/// <param name="TokenId">The API token's id when an API token opened it: each request checks the token again (revoked or expired: the session ends); null for a JWT.</param>
/// <param name="User">Who the session acts as (for a JWT, until <paramref name="Expires"/>; for an API token the token's row is read again).</param>
/// <param name="Opened">When it was opened.</param>
/// <param name="Expires">When it ends: <see cref="DashboardSessions.Lifetime"/> after it was opened, or the JWT's expiry if sooner.</param>
public sealed record DashboardSession(string Credential, string? TokenId, ClaimsPrincipal User, DateTimeOffset Opened, DateTimeOffset Expires);
