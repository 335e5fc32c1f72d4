using Microsoft.AspNetCore.Authorization;

namespace PeerDistill.Api.Access;

/// <summary>The caller's role must be <see cref="Minimum"/> or above.</summary>
public sealed class RoleRequirement(ApiRole minimum) : AuthorizationHandler<RoleRequirement>, IAuthorizationRequirement
{
    public ApiRole Minimum { get; } = minimum;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        if (AccessClaims.RoleOf(context.User) is { } role && role >= requirement.Minimum)
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>The API's authorization policies, one per role; an endpoint with none requires <see cref="Reader"/>.</summary>
public static class AccessPolicies
{
    public const string Reader = "peerdistill-reader";
    public const string Operator = "peerdistill-operator";
    public const string Admin = "peerdistill-admin";
}
