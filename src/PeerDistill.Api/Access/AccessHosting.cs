using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace PeerDistill.Api.Access;

/// <summary>
/// Access control of the coordinator's API: authentication (API tokens, and JWT bearer when
/// configured, chosen by the credential's shape), one authorization policy per role with reader as
/// the fallback (every endpoint needs a credential unless it allows anonymous callers: only health
/// does), refusals answered alike on REST and gRPC, and rate limits per address and per credential.
/// </summary>
internal static class AccessHosting
{
    /// <summary>The scheme that picks API token or JWT for each request.</summary>
    public const string Scheme = "PeerDistill";

    /// <summary>How often the rate limiters' buckets are refilled.</summary>
    public static readonly TimeSpan RefillPeriod = TimeSpan.FromMilliseconds(100);

    public static IHostApplicationBuilder AddPeerDistillAccess(this IHostApplicationBuilder builder, AccessOptions options)
    {
        builder.Services.AddSingleton(options).AddSingleton<TokenStore>().AddSingleton<AuditTrail>().AddSingleton<CredentialRefusals>().AddSingleton<DashboardSessions>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessResultHandler>();
        // ASP.NET Core's authentication handlers log every failed credential at Information, a line per
        // request that a flood of bad credentials would turn into a flood of lines: CredentialRefusals
        // logs the refusals instead, once per address and kind in its window.
        builder.Logging.AddFilter(typeof(TokenAuthenticationHandler).FullName, LogLevel.Warning);
        // Authentication brings ASP.NET Core's data protection, which nothing here uses (no protected
        // cookies or payloads: the dashboard's session cookie is a random name of a session kept in
        // memory): in memory, so that it neither writes keys nor warns about them.
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        var jwt = options.Jwt;
        var authentication = builder.Services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API token or JWT", o => o.ForwardDefaultSelector = context =>
                jwt.IsConfigured && !options.Bypassed && AccessResponses.TryReadBearer(context, out var credential, out _) && !credential.StartsWith(ApiTokenFormat.Prefix, StringComparison.Ordinal)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : TokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        if (jwt.IsConfigured)
        {
            authentication.AddJwtBearer(o => ConfigureJwt(o, jwt));
        }

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Reader, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(ApiRole.Reader)))
            .AddPolicy(AccessPolicies.Operator, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(ApiRole.Operator)))
            .AddPolicy(AccessPolicies.Admin, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(ApiRole.Admin)))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new RoleRequirement(ApiRole.Reader)).Build());
        builder.Services.AddRateLimiter(o =>
        {
            var rates = options.RateLimits;
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => options.Bypassed
                    ? RateLimitPartition.GetNoLimiter("bypassed")
                    : RateLimitPartition.GetTokenBucketLimiter("address:" + Address(context), _ => Bucket(rates.PerAddress))),
                PartitionedRateLimiter.Create<HttpContext, string>(context => options.Bypassed
                    ? RateLimitPartition.GetNoLimiter("bypassed")
                    : AccessClaims.RoleOf(context.User) is null
                    ? RateLimitPartition.GetTokenBucketLimiter("anonymous:" + Address(context), _ => Bucket(rates.UnauthenticatedPerAddress))
                    : RateLimitPartition.GetTokenBucketLimiter("credential:" + context.User.FindFirst(AccessClaims.Credential)?.Value, _ => Bucket(rates.PerCredential))));
            o.OnRejected = async (rejected, _) =>
            {
                var context = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var who = AccessClaims.RoleOf(context.User) is null ? "requests without a valid credential" : $"'{context.User.FindFirst(AccessClaims.Name)?.Value}'";
                var reason = string.Create(CultureInfo.InvariantCulture, $"{AccessResultHandler.Operation(context)}: over the rate limit for {who} from {Address(context)}; retry after {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))} s");
                context.RequestServices.GetRequiredService<CredentialRefusals>().Refused(Address(context), "rate limited", reason);
                await AccessResponses.RateLimitedAsync(context, reason, retryAfter).ConfigureAwait(false);
            };
        });
        return builder;
    }

    /// <summary>Authentication, then the rate limits (which partition by the authenticated caller), then authorization.</summary>
    public static WebApplication UsePeerDistillAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static TokenBucketRateLimiterOptions Bucket(int perSecond)
    {
        var periodsPerSecond = (int)(TimeSpan.FromSeconds(1) / RefillPeriod);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = 2 * perSecond,
            TokensPerPeriod = Math.Max(1, perSecond / periodsPerSecond),
            ReplenishmentPeriod = perSecond >= periodsPerSecond ? RefillPeriod : TimeSpan.FromSeconds(1.0 / perSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static void ConfigureJwt(JwtBearerOptions o, JwtAccessOptions jwt)
    {
        o.MapInboundClaims = false;
        o.IncludeErrorDetails = false;
        if (jwt.Authority is { Length: > 0 } authority)
        {
            o.Authority = authority;
            o.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        }

        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer,
            ValidateIssuer = true,
            ValidAudience = jwt.Audience,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKeys = jwt.SigningKeys.Select(JwtAccessOptions.LoadKey).ToList(),
            ClockSkew = jwt.ClockSkew,
            NameClaimType = jwt.NameClaim,
        };
        o.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                if (AccessResponses.TryReadBearer(context.HttpContext, out var credential, out _) && credential.Length > JwtAccessOptions.MaxTokenBytes)
                {
                    AccessResponses.SetFailure(context.HttpContext, string.Create(CultureInfo.InvariantCulture, $"the JWT is {credential.Length} characters long, more than the {JwtAccessOptions.MaxTokenBytes} accepted"));
                    context.NoResult();
                }

                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                AccessResponses.SetFailure(context.HttpContext, JwtFailure(context.Exception, jwt));
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                var user = context.Principal!;
                var name = user.FindFirst(jwt.NameClaim)?.Value;
                if (string.IsNullOrEmpty(name))
                {
                    var reason = $"the JWT has no '{jwt.NameClaim}' claim to name its caller";
                    AccessResponses.SetFailure(context.HttpContext, reason);
                    context.Fail(reason);
                    return Task.CompletedTask;
                }

                // The highest role the token's role claims name (an identity provider may send several).
                var role = user.FindAll(jwt.RoleClaim).Select(c => ApiRoles.Parse(c.Value)).Where(r => r is not null).Max();
                var claims = new List<Claim>
                {
                    new(AccessClaims.Name, name),
                    new(AccessClaims.Kind, AccessClaims.JwtKind),
                    new(AccessClaims.Credential, "jwt:" + user.FindFirst("iss")?.Value + "/" + name),
                };
                if (role is { } r)
                {
                    claims.Add(new Claim(AccessClaims.Role, ApiRoles.Name(r)));
                }

                if (user.FindFirst(jwt.ProjectClaim)?.Value is { Length: > 0 } project)
                {
                    claims.Add(new Claim(AccessClaims.Project, project));
                }

                context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, JwtBearerDefaults.AuthenticationScheme, AccessClaims.Name, AccessClaims.Role));
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>Why a JWT was refused, in words that reveal nothing of the token or the keys.</summary>
    private static string JwtFailure(Exception exception, JwtAccessOptions jwt) => exception switch
    {
        SecurityTokenExpiredException => "the JWT has expired",
        SecurityTokenNotYetValidException => "the JWT is not valid yet",
        SecurityTokenInvalidAudienceException => $"the JWT is not for this audience (it must name '{jwt.Audience}')",
        SecurityTokenInvalidIssuerException => "the JWT's issuer is not the one this coordinator trusts",
        SecurityTokenSignatureKeyNotFoundException => "the JWT is signed with a key this coordinator does not know",
        SecurityTokenInvalidSignatureException => "the JWT's signature is not valid",
        SecurityTokenNoExpirationException => "the JWT has no expiry",
        SecurityTokenMalformedException or ArgumentException => "the bearer credential is neither a PeerDistill API token nor a well-formed JWT",
        _ => "the JWT is not valid",
    };
}
