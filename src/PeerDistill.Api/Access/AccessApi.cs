namespace PeerDistill.Api.Access;

/// <summary>
/// The token and audit operations of the API (for REST and gRPC alike), for admins: an admin confined
/// to a project makes, sees and revokes tokens of its project only and reads its project's audit
/// entries only. Every change is recorded in the audit trail.
/// </summary>
public sealed class AccessApi(TokenStore tokens, AuditTrail audit)
{
    /// <summary>Makes a token (the text is returned once).</summary>
    public async Task<(ApiTokenInfo Info, string Token)> CreateTokenAsync(ApiCaller caller, NewApiToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(token);
        try
        {
            if (caller.Project is { } own)
            {
                if (token.Project is null)
                {
                    token = token with { Project = own };
                }
                else if (token.Project != own)
                {
                    throw new CohortApiException(ApiError.PermissionDenied, $"CreateToken: '{caller.Name}' is confined to project '{own}' and may not make tokens of project '{CohortApi.Echo(token.Project)}'");
                }
            }

            var made = await tokens.CreateAsync(token, caller.Name, cancellationToken).ConfigureAwait(false);
            await audit.RecordAsync(caller, "CreateToken", "ok", target: made.Info.Name, detail: $"role {ApiRoles.Name(made.Info.Role)}" + (made.Info.Project is { } p ? $", project {p}" : string.Empty) + (made.Info.Expires is { } e ? $", expires {e:O}" : string.Empty)).ConfigureAwait(false);
            return made;
        }
        catch (CohortApiException e)
        {
            await audit.RecordAsync(caller, "CreateToken", e.Error == ApiError.PermissionDenied ? "denied" : "refused", target: CohortApi.Echo(token.Name ?? string.Empty), detail: e.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The tokens the caller may see.</summary>
    public Task<IReadOnlyList<ApiTokenInfo>> ListTokensAsync(ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return tokens.ListAsync(caller.Project, cancellationToken);
    }

    /// <summary>Revokes a token the caller may see (by name or id).</summary>
    public async Task<ApiTokenInfo> RevokeTokenAsync(ApiCaller caller, string nameOrId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (string.IsNullOrWhiteSpace(nameOrId))
        {
            throw new CohortApiException(ApiError.InvalidArgument, "RevokeToken: name is empty; name the token (or give its id)");
        }

        try
        {
            var revoked = await tokens.RevokeAsync(nameOrId, caller.Project, cancellationToken).ConfigureAwait(false);
            await audit.RecordAsync(caller, "RevokeToken", "ok", target: revoked.Name).ConfigureAwait(false);
            return revoked;
        }
        catch (CohortApiException e)
        {
            await audit.RecordAsync(caller, "RevokeToken", "not_found", target: CohortApi.Echo(nameOrId), detail: e.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Audit entries the caller may read, newest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(ApiCaller caller, AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(query);
        return audit.ListAsync(query with { Project = caller.Project }, cancellationToken);
    }
}
