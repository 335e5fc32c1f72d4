using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Access;

namespace PeerDistill.Api.Rest;

/// <summary>Tokens and the audit trail over REST, for admins: <c>/api/v1/tokens</c> and <c>/api/v1/audit</c>.</summary>
internal static class AccessEndpoints
{
    private const string Tag = "access";

    public static IEndpointRouteBuilder MapAccessEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var tokens = endpoints.MapGroup(RunEndpoints.Prefix + "/tokens").WithTags(Tag).RequireAuthorization(AccessPolicies.Admin);
        tokens.MapGet("/", ListAsync)
            .WithName("ListTokens")
            .WithSummary("Every API token (revoked ones too), oldest first; never their secrets")
            .Produces<TokenList>(StatusCodes.Status200OK);
        tokens.MapPost("/", CreateAsync)
            .WithName("CreateToken")
            .WithSummary("Make an API token; the answer carries the token itself, shown this once")
            .WithDescription("JSON body {\"name\": \"ci\", \"role\": \"operator\", \"project\": null, \"expires_at\": \"2027-01-01T00:00:00Z\"}.")
            .AddOpenApiOperationTransformer((operation, context, cancellationToken) => OpenApiBodies.JsonAsync<CreateTokenRequest>(operation, context, required: true, cancellationToken))
            .Produces<NewTokenResource>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        tokens.MapDelete("/{name}", RevokeAsync)
            .WithName("RevokeToken")
            .WithSummary("Revoke an API token (by name or id): it stops working at once")
            .Produces<TokenResource>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound);
        endpoints.MapGet(RunEndpoints.Prefix + "/audit", AuditAsync)
            .WithTags(Tag)
            .RequireAuthorization(AccessPolicies.Admin)
            .WithName("ListAudit")
            .WithSummary("The audit trail, newest first: who did what to which run or token, when, from where")
            .WithDescription("Query: limit (1-1000, default 100), before (next_before of the previous page), actor, cohort.")
            .Produces<AuditPage>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(HttpContext context, AccessApi access, CancellationToken cancellationToken) =>
        await RestProblems.AnswerAsync(async () =>
        {
            var list = await access.ListTokensAsync(ApiCaller.From(context), cancellationToken).ConfigureAwait(false);
            return TypedResults.Json(new TokenList(list.Select(From).ToList()), RestJsonContext.Default.TokenList);
        }).ConfigureAwait(false);

    private static async Task<IResult> CreateAsync(HttpContext context, AccessApi access, CancellationToken cancellationToken) =>
        await RestProblems.AnswerAsync(async () =>
        {
            RestRequests.MediaType(context.Request, ["application/json"]);
            var text = await RestRequests.ReadTextAsync(context.Request, RunEndpoints.MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
            var request = RunEndpoints.ParseJson(text, RestJsonContext.Default.CreateTokenRequest)
                ?? throw new RestProblem(StatusCodes.Status400BadRequest, "Bad JSON body", "the body is null; send {\"name\": ..., \"role\": ...}");
            if (string.IsNullOrEmpty(request.Name))
            {
                throw new RestProblem(StatusCodes.Status400BadRequest, "Invalid request", "name: missing; name the token (1 to 64 letters, digits, '-', '_', '.')");
            }

            var role = ApiRoles.Parse(request.Role)
                ?? throw new RestProblem(StatusCodes.Status400BadRequest, "Invalid request", $"role: '{CohortApi.Echo(request.Role ?? string.Empty)}' is not one of {string.Join(", ", ApiRoles.Names)}");
            var (info, token) = await access.CreateTokenAsync(ApiCaller.From(context), new NewApiToken(request.Name, role, request.Project, request.ExpiresAt), cancellationToken).ConfigureAwait(false);
            context.Response.Headers.CacheControl = "no-store";
            return TypedResults.Json(new NewTokenResource(token, From(info)), RestJsonContext.Default.NewTokenResource, statusCode: StatusCodes.Status201Created);
        }).ConfigureAwait(false);

    private static async Task<IResult> RevokeAsync(string name, HttpContext context, AccessApi access, CancellationToken cancellationToken) =>
        await RestProblems.AnswerAsync(async () =>
            TypedResults.Json(From(await access.RevokeTokenAsync(ApiCaller.From(context), name, cancellationToken).ConfigureAwait(false)), RestJsonContext.Default.TokenResource)).ConfigureAwait(false);

    private static async Task<IResult> AuditAsync(HttpContext context, AccessApi access, CancellationToken cancellationToken) =>
        await RestProblems.AnswerAsync(async () =>
        {
            var request = context.Request;
            var limit = RestRequests.IntQuery(request, "limit", 1, AuditQuery.MaxLimit, AuditQuery.DefaultLimit);
            var before = RestRequests.IntQuery(request, "before", 1, int.MaxValue, 0);
            var query = new AuditQuery(limit, before == 0 ? null : before, RestRequests.StringQuery(request, "actor", 200), RestRequests.StringQuery(request, "cohort", 200));
            var entries = await access.ListAuditAsync(ApiCaller.From(context), query, cancellationToken).ConfigureAwait(false);
            var page = new AuditPage(
                entries.Select(e => new AuditResource(e.Id, e.Time, e.Actor, e.ActorKind, e.Project, e.Action, e.Cohort, e.Run, e.Target, e.Outcome, e.Address, e.Detail)).ToList(),
                entries.Count == limit ? entries[^1].Id : null);
            return TypedResults.Json(page, RestJsonContext.Default.AuditPage);
        }).ConfigureAwait(false);

    private static TokenResource From(ApiTokenInfo info) =>
        new(info.Id, info.Name, ApiRoles.Name(info.Role), info.Project, info.Created, info.CreatedBy, info.Expires, info.Revoked);
}
