using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Api.Access;

/// <summary><c>peerdistill.v1.AccessService</c> over <see cref="AccessApi"/>, for admins: tokens and the audit trail.</summary>
[Authorize(Policy = AccessPolicies.Admin)]
public sealed class AccessGrpcService(AccessApi access) : AccessService.AccessServiceBase
{
    public override async Task<CreateTokenReply> CreateToken(CreateTokenRequest request, ServerCallContext context)
    {
        var role = ApiRoles.Parse(request.Role) ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"CreateToken: role '{CohortApi.Echo(request.Role)}' is not one of {string.Join(", ", ApiRoles.Names)}"));
        var expires = request.HasExpiresUnixMillis ? DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(request.ExpiresUnixMillis, 0, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())) : (DateTimeOffset?)null;
        var (info, token) = await Call(() => access.CreateTokenAsync(Caller(context), new NewApiToken(request.Name, role, request.Project is { Length: > 0 } p ? p : null, expires), context.CancellationToken)).ConfigureAwait(false);
        return new CreateTokenReply { Token = token, Info = ToWire(info) };
    }

    public override async Task<ListTokensReply> ListTokens(ListTokensRequest request, ServerCallContext context)
    {
        var reply = new ListTokensReply();
        reply.Tokens.AddRange((await Call(() => access.ListTokensAsync(Caller(context), context.CancellationToken)).ConfigureAwait(false)).Select(ToWire));
        return reply;
    }

    public override async Task<ApiToken> RevokeToken(RevokeTokenRequest request, ServerCallContext context) =>
        ToWire(await Call(() => access.RevokeTokenAsync(Caller(context), request.Name, context.CancellationToken)).ConfigureAwait(false));

    public override async Task<ListAuditReply> ListAudit(ListAuditRequest request, ServerCallContext context)
    {
        var query = new AuditQuery(
            request.Limit == 0 ? AuditQuery.DefaultLimit : request.Limit,
            request.HasBeforeId ? request.BeforeId : null,
            request.Actor is { Length: > 0 } actor ? actor : null,
            request.Cohort is { Length: > 0 } cohort ? cohort : null);
        var entries = await Call(() => access.ListAuditAsync(Caller(context), query, context.CancellationToken)).ConfigureAwait(false);
        var reply = new ListAuditReply();
        reply.Entries.AddRange(entries.Select(e => new Protocol.V1.AuditEntry
        {
            Id = e.Id,
            TimeUnixMillis = e.Time.ToUnixTimeMilliseconds(),
            Actor = e.Actor,
            ActorKind = e.ActorKind,
            Project = e.Project ?? string.Empty,
            Action = e.Action,
            Cohort = e.Cohort ?? string.Empty,
            Run = e.Run ?? string.Empty,
            Target = e.Target ?? string.Empty,
            Outcome = e.Outcome,
            Address = e.Address ?? string.Empty,
            Detail = e.Detail ?? string.Empty,
        }));
        if (entries.Count == query.Limit)
        {
            reply.NextBeforeId = entries[^1].Id;
        }

        return reply;
    }

    private static ApiCaller Caller(ServerCallContext context) => ApiCaller.From(context.GetHttpContext());

    private static ApiToken ToWire(ApiTokenInfo info)
    {
        var token = new ApiToken
        {
            Id = info.Id,
            Name = info.Name,
            Role = ApiRoles.Name(info.Role),
            Project = info.Project ?? string.Empty,
            CreatedUnixMillis = info.Created.ToUnixTimeMilliseconds(),
            CreatedBy = info.CreatedBy,
        };
        if (info.Expires is { } expires)
        {
            token.ExpiresUnixMillis = expires.ToUnixTimeMilliseconds();
        }

        if (info.Revoked is { } revoked)
        {
            token.RevokedUnixMillis = revoked.ToUnixTimeMilliseconds();
        }

        return token;
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (CohortApiException e)
        {
            throw CohortGrpcService.ToRpc(e);
        }
    }
}
