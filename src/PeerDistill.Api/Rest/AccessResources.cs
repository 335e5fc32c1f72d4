namespace PeerDistill.Api.Rest;

/// <summary>An API token as the API shows it (never its secret).</summary>
/// <param name="Id">The public id (the 16 hex digits after <c>pd_</c>).</param>
/// <param name="Name">Its unique name.</param>
/// <param name="Role"><c>reader</c>, <c>operator</c> or <c>admin</c>.</param>
/// <param name="Project">The project it is confined to; null: every project.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="CreatedBy">Who made it.</param>
/// <param name="ExpiresAt">When it stops working; null: never.</param>
/// <param name="RevokedAt">When it was revoked; null: not revoked.</param>
public sealed record TokenResource(string Id, string Name, string Role, string? Project, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>The tokens an admin may see, oldest first.</summary>
public sealed record TokenList(IReadOnlyList<TokenResource> Tokens);

/// <summary>A token just made: the token itself, shown this once, and what the API keeps of it.</summary>
public sealed record NewTokenResource(string Token, TokenResource Info);

/// <summary>A token to make.</summary>
/// <param name="Name">Unique; 1 to 64 letters, digits, '-', '_', '.'.</param>
/// <param name="Role"><c>reader</c>, <c>operator</c> or <c>admin</c>.</param>
/// <param name="Project">The project it is confined to; null: every project (an admin confined to a project makes tokens of its own only).</param>
/// <param name="ExpiresAt">When it stops working (RFC 3339); null: never.</param>
public sealed record CreateTokenRequest(string Name, string Role, string? Project, DateTimeOffset? ExpiresAt);

/// <summary>One entry of the audit trail.</summary>
public sealed record AuditResource(long Id, DateTimeOffset Time, string Actor, string ActorKind, string? Project, string Action, string? Cohort, string? Run, string? Target, string Outcome, string? Address, string? Detail);

/// <summary>A page of the audit trail, newest first; <paramref name="NextBefore"/> asks for the next (null on the last).</summary>
public sealed record AuditPage(IReadOnlyList<AuditResource> Entries, long? NextBefore);
