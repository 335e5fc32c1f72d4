using System.Net;
using System.Runtime.Versioning;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Access control of the coordinator's API on real processes: the first admin token, tokens of each
/// role and project, JWTs from an identity provider the test plays, and every attack an outsider
/// with a script could try, each refused with its status (REST and gRPC) while a cohort trains,
/// whose per-step losses stay those of the embedded run.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class AccessControlTests(ITestOutputHelper output)
{
    internal const string Issuer = "https://sso.test.example";
    internal const string Audience = "peerdistill";

    [Fact]
    public async Task FirstStart_PrintsTheAdminTokenOnce_KeepsItOwnerOnly_AndTheCliOfThisMachineFindsIt()
    {
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        var file = Path.Combine(dir.Path, "data", "admin.token");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.StartsWith("pd_", cluster.Token, StringComparison.Ordinal);
        Assert.Single(cluster.AnyLines(cluster.Token));

        // The CLI, from another directory, with no token given: it finds the coordinator's own.
        using var elsewhere = new TempDirectory();
        var listed = CliProcess.RunIn(elsewhere.Path, "cohorts", "list", "--coordinator", cluster.Url);
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.DoesNotContain(cluster.Token, listed.Stdout + listed.Stderr, StringComparison.Ordinal);

        // A restarted coordinator on the same data makes no new token and prints none; the first still works.
        var first = cluster.Token;
        await cluster.RestartCoordinatorAsync();
        Assert.Equal(first, cluster.Token);
        Assert.Single(cluster.AnyLines(first));
        Assert.Equal(1, cluster.Printed("coordinator", "first start: made the admin token"));
        var again = CliProcess.RunIn(elsewhere.Path, "cohorts", "list", "--coordinator", cluster.Url);
        Assert.True(again.ExitCode == 0, again.Stderr);

        // A wrong token given explicitly wins over the one found, and is refused with exit code 4.
        var wrong = CliProcess.RunIn(elsewhere.Path, "cohorts", "list", "--coordinator", cluster.Url, "--token", "pd_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        Assert.Equal(4, wrong.ExitCode);
        Assert.Contains("Unauthenticated", wrong.Stderr, StringComparison.Ordinal);
        Assert.Contains("the API token is not known", wrong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminTokenFromAFile_IsTheAdminToken_NeitherPrintedNorWritten_AndABadFileIsRefusedByName()
    {
        using var dir = new TempDirectory();
        var secret = Path.Combine(dir.Path, "admin.secret");
        var mint = CliProcess.RunIn(dir.Path, "tokens", "mint", secret);
        Assert.True(mint.ExitCode == 0, mint.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secret));
        var token = File.ReadAllText(secret).Trim();
        Assert.Matches("^pd_[0-9a-f]{16}\\.[A-Za-z0-9_-]{43}$", token);
        Assert.DoesNotContain(token, mint.Stdout + mint.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, CliProcess.RunIn(dir.Path, "tokens", "mint", secret).ExitCode);

        await using (var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: new Dictionary<string, string> { [Cluster.AdminTokenFromFile] = secret }))
        {
            Assert.Equal(token, cluster.Token);
            Assert.Equal(0, cluster.Printed("coordinator", "first start: made the admin token"));
            Assert.Empty(cluster.AnyLines(token));
            Assert.False(File.Exists(Path.Combine(dir.Path, "data", "admin.token")));
            using (var admin = cluster.Http())
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, (await admin.GetAsync("api/v1/tokens")).StatusCode);
            }

            var other = Path.Combine(dir.Path, "other.secret");
            Assert.Equal(0, CliProcess.RunIn(dir.Path, "tokens", "mint", other).ExitCode);
            using var stranger = cluster.Http(string.Empty, File.ReadAllText(other).Trim());
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await stranger.GetAsync("api/v1/runs")).StatusCode);
        }

        // A file that holds no token: exit 2 naming the file, not what it holds.
        using var second = new TempDirectory();
        var bad = Path.Combine(second.Path, "bad.secret");
        await File.WriteAllTextAsync(bad, "hunter2-is-no-token");
        var refused = CliProcess.RunIn(second.Path, "coordinator", "--port", "0", "--http-port", "0", "--cluster-port", "0", "--admin-token-file", bad);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"Access:AdminTokenFromFile: {bad} does not hold an API token", refused.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", refused.Stdout + refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryAttack_IsRefusedWithItsStatus_WhileACohortTrains_WhoseLossesStayThoseOfTheEmbeddedRun()
    {
        using var dir = new TempDirectory();
        using var rsa = RSA.Create(2048);
        using var stranger = RSA.Create(2048);
        var publicKey = Path.Combine(dir.Path, "sso.pub");
        await File.WriteAllTextAsync(publicKey, rsa.ExportSubjectPublicKeyInfoPem());
        var jwt = new Dictionary<string, string>
        {
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__ISSUER"] = Issuer,
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__AUDIENCE"] = Audience,
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__SIGNINGKEYS__0"] = publicKey,
        };
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output, coordinatorEnvironment: jwt);

        // The admin makes a token of each kind (through the CLI, as an operator would).
        string Make(string name, string role, params string[] extra)
        {
            var made = CliProcess.RunIn(dir.Path, ["tokens", "create", name, "--role", role, "--coordinator", cluster.Url, .. extra]);
            Assert.True(made.ExitCode == 0, made.Stderr);
            return made.Stdout.Trim();
        }

        var operatorA = Make("op-a", "operator", "--project", "a");
        var operatorB = Make("op-b", "operator", "--project", "b");
        var reader = Make("reader", "reader");
        var revoked = Make("gone", "operator");
        var revoke = CliProcess.RunIn(dir.Path, "tokens", "revoke", "gone", "--coordinator", cluster.Url);
        Assert.True(revoke.ExitCode == 0, revoke.Stderr);
        // A token that expires in 3 s, made over REST (a CLI process may take longer than that to start).
        string expiring;
        using (var admin = cluster.Http())
        {
            var body = JsonSerializer.Serialize(new { name = "brief", role = "operator", expires_at = DateTimeOffset.UtcNow.AddSeconds(3) });
            using var made = await admin.PostAsync("api/v1/tokens", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            using var answer = JsonDocument.Parse(await made.Content.ReadAsStringAsync());
            expiring = answer.RootElement.GetProperty("token").GetString()!;
            Assert.Equal("operator", answer.RootElement.GetProperty("info").GetProperty("role").GetString());
        }

        var listedTokens = CliProcess.RunIn(dir.Path, "tokens", "list", "--coordinator", cluster.Url);
        foreach (var secret in new[] { operatorA, operatorB, reader, revoked, expiring, cluster.Token })
        {
            Assert.DoesNotContain(secret, listedTokens.Stdout, StringComparison.Ordinal);
        }

        // Project a's operator submits the cohort; it trains.
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 30", StringComparison.Ordinal));
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--token", operatorA);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var running = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Running && s.Peers.All(p => p.Step >= 20), TimeSpan.FromMinutes(2));
        var path = $"api/v1/runs/pair/{running.Run}";
        // The brief token lives one second: wait until the coordinator says it expired.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(await RestAsync(cluster, HttpMethod.Get, path, expiring)).Detail.Contains("expired", StringComparison.Ordinal))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "the one-second token still works after 60 s");
            await Task.Delay(200);
        }

        // Without a valid credential: 401 with a challenge, UNAUTHENTICATED; each saying why.
        var forged = "pd_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + "." + new string('A', 43);
        foreach (var (what, token, reason) in new (string, string?, string)[]
        {
            ("no token", null, "no credentials"),
            ("a wrong token", forged, "the API token is not known"),
            ("a revoked token", revoked, "was revoked"),
            ("an expired token", expiring, "expired"),
            ("a JWT signed by another key", Jwt(stranger, "operator", "a"), "sign"),
            ("a JWT for another audience", Jwt(rsa, "operator", "a", audience: "someone-else"), "not for this audience"),
            ("an expired JWT", Jwt(rsa, "operator", "a", expires: DateTime.UtcNow.AddMinutes(-10)), "expired"),
            ("a JWT from another issuer", Jwt(rsa, "operator", "a", issuer: "https://evil.example"), "issuer"),
        })
        {
            var rest = await RestAsync(cluster, HttpMethod.Get, path, token);
            Assert.True(rest.Status == HttpStatusCode.Unauthorized, $"{what}: REST {rest.Status} {rest.Detail}");
            Assert.StartsWith("Bearer realm=\"peerdistill\"", rest.Challenge, StringComparison.Ordinal);
            Assert.Contains(reason, rest.Detail, StringComparison.Ordinal);
            var grpc = await GrpcAsync(cluster, token, c => c.GetCohortAsync(new GetCohortRequest { Cohort = "pair" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.True(grpc.Status == StatusCode.Unauthenticated, $"{what}: gRPC {grpc.Status} {grpc.Detail}");
            Assert.Contains(reason, grpc.Detail, StringComparison.Ordinal);
            output.WriteLine($"{what}: 401 / UNAUTHENTICATED: {rest.Detail}");
        }

        // A reader writing; a JWT without a role: 403, PERMISSION_DENIED.
        foreach (var (what, token) in new[] { ("a reader cancelling", reader), ("a JWT with no role cancelling", Jwt(rsa, null, "a")) })
        {
            var rest = await RestAsync(cluster, HttpMethod.Post, path + "/cancel", token);
            Assert.True(rest.Status == HttpStatusCode.Forbidden, $"{what}: REST {rest.Status} {rest.Detail}");
            Assert.Contains("CancelRun needs operator", rest.Detail, StringComparison.Ordinal);
            var grpc = await GrpcAsync(cluster, token, c => c.CancelCohortAsync(new CancelCohortRequest { Cohort = "pair" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.True(grpc.Status == StatusCode.PermissionDenied, $"{what}: gRPC {grpc.Status} {grpc.Detail}");
            output.WriteLine($"{what}: 403 / PERMISSION_DENIED: {rest.Detail}");
        }

        // Another project's credentials (a token, a JWT): the run does not exist for them, as any
        // cohort that does not exist; the list they get lacks it; a cancel finds nothing.
        var absent = await RestAsync(cluster, HttpMethod.Get, "api/v1/runs/no-such-cohort/latest", operatorB);
        foreach (var (what, token) in new[] { ("project b's token", operatorB), ("project b's JWT", Jwt(rsa, "operator", "b")) })
        {
            var get = await RestAsync(cluster, HttpMethod.Get, path, token);
            Assert.True(get.Status == HttpStatusCode.NotFound, $"{what} reading: REST {get.Status} {get.Detail}");
            Assert.Equal(absent.Detail.Replace("no-such-cohort", "pair", StringComparison.Ordinal), get.Detail);
            var cancel = await RestAsync(cluster, HttpMethod.Post, path + "/cancel", token);
            Assert.True(cancel.Status == HttpStatusCode.NotFound, $"{what} cancelling: REST {cancel.Status} {cancel.Detail}");
            var list = await RestAsync(cluster, HttpMethod.Get, "api/v1/runs", token);
            Assert.Equal(HttpStatusCode.OK, list.Status);
            Assert.DoesNotContain("pair", list.Body, StringComparison.Ordinal);
            var grpc = await GrpcAsync(cluster, token, c => c.CancelCohortAsync(new CancelCohortRequest { Cohort = "pair" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.True(grpc.Status == StatusCode.NotFound, $"{what} cancelling: gRPC {grpc.Status} {grpc.Detail}");
            Assert.DoesNotContain(running.Run, get.Detail + cancel.Detail + grpc.Detail, StringComparison.Ordinal);
            output.WriteLine($"{what}: 404 / NOT_FOUND: {get.Detail}");
        }

        // Those who belong are let in: project a's JWT and the reader read it.
        foreach (var (what, token) in new[] { ("project a's JWT", Jwt(rsa, "operator", "a")), ("the reader", reader) })
        {
            var get = await RestAsync(cluster, HttpMethod.Get, path, token);
            Assert.True(get.Status == HttpStatusCode.OK, $"{what}: REST {get.Status} {get.Detail}");
        }

        var during = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, _ => true, TimeSpan.FromSeconds(30));
        output.WriteLine($"after the attacks the run is {during.State} at steps {string.Join(", ", during.Peers.Select(p => p.Step))}");

        // The audit trail holds the submission and the refusals, with who and from where.
        using (var http = cluster.Http())
        {
            using var audit = JsonDocument.Parse(await http.GetStringAsync("api/v1/audit?limit=1000"));
            var entries = audit.RootElement.GetProperty("entries").EnumerateArray().Select(e => (
                Actor: e.GetProperty("actor").GetString(), Action: e.GetProperty("action").GetString(), Outcome: e.GetProperty("outcome").GetString(),
                Address: e.GetProperty("address").GetString(), Project: e.GetProperty("project").GetString())).ToList();
            Assert.Contains(("op-a", "Submit", "ok", "127.0.0.1", "a"), entries);
            Assert.Contains(("reader", "CancelRun", "denied", "127.0.0.1", (string?)null), entries);
            Assert.Contains(("reader", "CancelCohort", "denied", "127.0.0.1", (string?)null), entries);
            Assert.Contains(("op-b", "CancelCohort", "not_found", "127.0.0.1", "b"), entries);
            Assert.Contains(("admin", "RevokeToken", "ok", "127.0.0.1", (string?)null), entries);
        }

        // The training went on undisturbed: every step so far, loss for loss, the embedded run's.
        var done = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(5));
        Assert.Equal(CohortState.Completed, done.State);
        MetricsFiles.AssertEqualToEmbedded(dir.Path, spec, Path.Combine(cluster.Runs, "pair", done.Run), "distributed");

        // No token is written anywhere it does not belong: not in any line printed, not in the run's files.
        var secrets = new[] { operatorA, operatorB, reader, revoked, expiring };
        Assert.All(secrets, s => Assert.Empty(cluster.AnyLines(s)));
        foreach (var file in Directory.EnumerateFiles(cluster.Runs, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".ckpt", StringComparison.Ordinal)))
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.All(secrets.Append(cluster.Token), s => Assert.DoesNotContain(s, text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AFloodOfBadCredentials_IsSlowedAndLoggedOncePerWindow_WhileAValidCallerGoesOn()
    {
        using var dir = new TempDirectory();
        // The limits as shipped.
        var defaults = new Dictionary<string, string>
        {
            ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__PERCREDENTIAL"] = "100",
            ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__PERADDRESS"] = "400",
            ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__UNAUTHENTICATEDPERADDRESS"] = "10",
        };
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: defaults);
        using var flood = cluster.Http("", "pd_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // 200 requests, 10 at a time: far faster than the 10 per second such callers may make.
        for (var batch = 0; batch < 20; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
            {
                using var response = await flood.GetAsync("api/v1/runs");
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Assert.True(response.Headers.RetryAfter?.Delta is { } wait && wait >= TimeSpan.FromSeconds(1), "a 429 without Retry-After");
                }
            }));
        }

        var elapsed = clock.Elapsed;
        var counts = statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", counts.Select(kv => $"{(int)kv.Key}: {kv.Value}")));
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], counts.Keys.Order());
        // The burst (20), and at most what the bucket refilled while the flood went on (10 per second).
        Assert.InRange(counts[HttpStatusCode.Unauthorized], 20, 20 + (int)Math.Ceiling(elapsed.TotalSeconds * 10) + 1);
        var grpc = await GrpcAsync(cluster, "pd_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", c => c.ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
        Assert.True(grpc.Status is StatusCode.ResourceExhausted or StatusCode.Unauthenticated, $"gRPC {grpc.Status}");

        // The valid caller, from the same address, is served all along.
        using var valid = cluster.Http();
        for (var i = 0; i < 20; i++)
        {
            using var response = await valid.GetAsync("api/v1/runs");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Logged, but not line for line: at most a few lines for 200 refusals.
        await cluster.WaitForLineAsync("coordinator", "refused (unauthenticated)", 1, TimeSpan.FromSeconds(30));
        await cluster.WaitForLineAsync("coordinator", "refused (rate limited)", 1, TimeSpan.FromSeconds(30));
        Assert.InRange(cluster.Printed("coordinator", "request(s) from 127.0.0.1 refused"), 2, 10);
        // And by the coordinator's own throttled lines only, not by a framework's line per request.
        Assert.Equal(0, cluster.Printed("coordinator", "was not authenticated"));
    }

    /// <summary>A JWT of the test's identity provider, signed with <paramref name="key"/>.</summary>
    internal static string Jwt(RSA key, string? role, string? project, string audience = Audience, string issuer = Issuer, DateTime? expires = null, string subject = "alice@sso")
    {
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (role is not null)
        {
            claims["role"] = role;
        }

        if (project is not null)
        {
            claims["project"] = project;
        }

        var expiry = expires ?? DateTime.UtcNow.AddMinutes(10);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = expiry.AddMinutes(-20),
            NotBefore = expiry.AddMinutes(-20),
            Expires = expiry,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key), SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>A REST call with <paramref name="token"/> (none when null): its status, the problem's detail, the challenge and the body.</summary>
    internal static async Task<(HttpStatusCode Status, string Detail, string Challenge, string Body)> RestAsync(Cluster cluster, HttpMethod method, string path, string? token)
    {
        using var http = cluster.Http("", token);
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var detail = string.Empty;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            using var problem = JsonDocument.Parse(body);
            detail = problem.RootElement.GetProperty("detail").GetString() ?? string.Empty;
        }

        return (response.StatusCode, detail, response.Headers.WwwAuthenticate.ToString(), body);
    }

    /// <summary>A gRPC call with <paramref name="token"/> (none when null): its status and detail (OK when it succeeded).</summary>
    internal static async Task<(StatusCode Status, string Detail)> GrpcAsync<T>(Cluster cluster, string? token, Func<CohortService.CohortServiceClient, Task<T>> call)
    {
        using var channel = cluster.Coordinator(token);
        try
        {
            await call(new CohortService.CohortServiceClient(channel));
            return (StatusCode.OK, string.Empty);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }
}
