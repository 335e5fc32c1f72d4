using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace PeerDistill.Api.Access;

/// <summary>
/// Who calls the cohort API, as the API acts on it: a name for the audit trail, the role, the project
/// the caller is confined to (null: every project) and the address it called from.
/// </summary>
/// <param name="Name">A token's name or a JWT's subject.</param>
/// <param name="Kind">The kind of credential (<see cref="AccessClaims.TokenKind"/>, <see cref="AccessClaims.JwtKind"/>, or <c>coordinator</c> for its own work).</param>
/// <param name="Role">What the caller may do.</param>
/// <param name="Project">The project it sees and acts on; null for every project.</param>
/// <param name="Address">The client's address; null for the coordinator's own work.</param>
public sealed record ApiCaller(string Name, string Kind, ApiRole Role, string? Project, string? Address)
{
    /// <summary>The coordinator itself (its projection of runs into the database): every project.</summary>
    public static ApiCaller Coordinator { get; } = new("coordinator", "coordinator", ApiRole.Admin, null, null);

    /// <summary>Whether the caller sees runs of <paramref name="project"/>.</summary>
    public bool Sees(string? project) => Project is null || string.Equals(Project, project, StringComparison.Ordinal);

    /// <summary>The caller of an authorized request (every endpoint but health requires one).</summary>
    /// <exception cref="InvalidOperationException">The request carries no authenticated caller with a role (an endpoint mapped without a policy).</exception>
    public static ApiCaller From(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var user = context.User;
        var role = AccessClaims.RoleOf(user) ?? throw new InvalidOperationException($"{context.Request.Path}: the request reached its handler without a caller with a role (its endpoint lacks an authorization policy)");
        return new ApiCaller(
            user.FindFirstValue(AccessClaims.Name) ?? "unnamed",
            user.FindFirstValue(AccessClaims.Kind) ?? AccessClaims.TokenKind,
            role,
            user.FindFirstValue(AccessClaims.Project),
            context.Connection.RemoteIpAddress?.ToString());
    }
}
