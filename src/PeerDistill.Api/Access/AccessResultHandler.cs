using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace PeerDistill.Api.Access;

/// <summary>
/// Answers a request its policy refused, for REST and gRPC alike (<see cref="AccessResponses"/>): 401 /
/// UNAUTHENTICATED with the reason its credential failed, or 403 / PERMISSION_DENIED naming the role
/// the operation needs. Every refusal is counted in the log (<see cref="CredentialRefusals"/>); a
/// refusal for the role is also recorded in the audit trail.
/// </summary>
internal sealed class AccessResultHandler(CredentialRefusals refusals, AuditTrail audit) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var address = context.Connection.RemoteIpAddress?.ToString();
        var operation = Operation(context);
        if (authorizeResult.Challenged || context.User.Identity?.IsAuthenticated != true)
        {
            var failure = AccessResponses.Failure(context);
            var reason = failure ?? "no credentials: send 'Authorization: Bearer <token>' (an API token, or a JWT where the coordinator takes them)";
            refusals.Refused(address, "unauthenticated", reason);
            await AccessResponses.UnauthenticatedAsync(context, $"{operation}: {reason}", credentialPresented: context.Request.Headers.Authorization.Count > 0).ConfigureAwait(false);
            return;
        }

        var needed = policy.Requirements.OfType<RoleRequirement>().Select(r => r.Minimum).DefaultIfEmpty(ApiRole.Reader).Max();
        var role = AccessClaims.RoleOf(context.User);
        var name = context.User.FindFirst(AccessClaims.Name)?.Value ?? "unnamed";
        var denied = role is { } r
            ? $"'{name}' has the {ApiRoles.Name(r)} role; {operation} needs {ApiRoles.Name(needed)}"
            : $"'{name}' has no PeerDistill role (reader, operator or admin); {operation} needs {ApiRoles.Name(needed)}";
        refusals.Refused(address, "denied", denied);
        var caller = new ApiCaller(name, context.User.FindFirst(AccessClaims.Kind)?.Value ?? "unknown", role ?? ApiRole.Reader, context.User.FindFirst(AccessClaims.Project)?.Value, address);
        await audit.RecordAsync(caller, operation, "denied", context.GetRouteValue("cohort") as string, context.GetRouteValue("run") as string, detail: denied).ConfigureAwait(false);
        await AccessResponses.ForbiddenAsync(context, $"{operation}: {denied}").ConfigureAwait(false);
    }

    /// <summary>The operation a request asks for: its endpoint's name (REST) or method (gRPC), else its path.</summary>
    internal static string Operation(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        return endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName
            ?? endpoint?.Metadata.GetMetadata<Grpc.AspNetCore.Server.GrpcMethodMetadata>()?.Method.Name
            ?? context.Request.Path.Value
            ?? "the request";
    }
}
