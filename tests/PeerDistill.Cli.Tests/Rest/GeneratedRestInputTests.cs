using System.Net;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>
/// What an outsider with a script could send to the REST API: thousands of generated requests
/// (mutated specs, wrong and odd content types, broken UTF-8, deep nesting, huge numbers, oversize
/// bodies, bad entity tags, strange ids and query strings). Never a 5xx, the process never dies, and a
/// valid request is answered afterwards. Seeded, so a failure names the request and comes back.
/// </summary>
public sealed class GeneratedRestInputTests(RestCoordinator coordinator, ITestOutputHelper output) : IClassFixture<RestCoordinator>
{
    private const int Specs = 1000;
    private const int Others = 1500;

    private static readonly string[] ContentTypes =
    [
        "application/yaml", "application/json", "text/yaml", "application/x-yaml", "text/x-yaml", "application/yaml; charset=utf-8",
        "application/yaml; charset=utf-16", "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=\"", ";;;", "*/*", "",
    ];

    private static readonly string[] Paths =
    [
        "api/v1/runs/{c}/{r}", "api/v1/runs/{c}/{r}/cancel", "api/v1/runs/{c}/{r}/pause", "api/v1/runs/{c}/{r}/resume", "api/v1/runs/{c}/{r}/changes",
        "api/v1/runs/{c}/{r}/events", "api/v1/runs/{c}/{r}/metrics", "api/v1/runs", "api/v1/health", "api/v1/version", "api/v1/runs/{c}",
        "api/v1/runs/{c}/{r}/checkpoints", "api/v1/runs/{c}/{r}/checkpoints/{c}/{r}", "api/v1/runs/{c}/{r}/checkpoints/a/latest", "api/v1/workers",
    ];

    private static readonly string[] Names =
    [
        "smoke", "latest", "x", "%2e%2e", "..%2f..%2fetc", "%00", "%FF%FE", new string('a', 3000), "%E2%80%AE", "a%20b", "*", "%25", "runs", "-1", "9223372036854775808",
    ];

    private static readonly string[] Queries =
    [
        "", "?limit=-1", "?limit=99999999999999999999", "?limit=1&limit=2", "?state=RUNNING", "?state=%00", "?cursor=" + new string('A', 500), "?cursor=%FF",
        "?peer=a&peer=" + new string('b', 300), "?from=-5", "?to=1e9", "?max_points=0", "?cohort=" + new string('c', 400), "?&&&==", "?state",
        "?format=torchscript", "?format=%00", "?format=checkpoint&format=torchscript", "?files=maybe", "?files=true", "?peer=%2e%2e%2f",
    ];

    private static readonly string[] Bodies =
    [
        "", "{}", "{\"reason\": 1}", "{\"reason\": \"" + new string('r', 20000) + "\"}", "[", "{\"distillation\": {\"alpha\": 1e308}}", "{\"distillation\": {\"alpha\": \"NaN\"}}",
        "{\"lr_scale\": -1}", "{\"data\": {\"batch_size\": 2}}", "null", "\"text\"", "{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}",
        new string('[', 100_000), "distillation: {alpha: 0.5}", "&a [*a, *a]", "{\"reason\": \"\\ud800\"}",
    ];

    private static readonly string[] Tags = ["\"1\"", "W/\"1\"", "*", "\"1\", \"2\"", "garbage", "\"" + new string('9', 40) + "\"", "\"\"", "\"-1\"", "\"abc\""];

    [Fact]
    public async Task GeneratedRequests_NeverAServerError_TheServiceAnswersAValidRequestAfterwards()
    {
        var random = new Random(20261206);
        var corpus = Directory.GetFiles(CliProcess.Examples, "*.yaml").Select(File.ReadAllText).ToList();
        var mutator = new SpecMutator(seed: 20261206, corpus);
        var statuses = new Dictionary<int, int>();
        async Task Send(HttpRequestMessage request, string what)
        {
            using (request)
            {
                HttpResponseMessage response;
                try
                {
                    response = await coordinator.Http.SendAsync(request);
                }
                catch (HttpRequestException e) when (e.InnerException is IOException && request.Content?.Headers.ContentLength > 64 * 1024)
                {
                    // The server answered (a refusal) before reading a large body, and closed the
                    // connection while the client still sent it: no status reaches this client.
                    statuses[0] = statuses.GetValueOrDefault(0) + 1;
                    return;
                }

                using var answered = response;
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(status < 500, $"{what}: {status} {body[..Math.Min(body.Length, 500)]}");
            }
        }

        for (var i = 0; i < Specs; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/runs") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(mutator.Next())) };
            SetContentType(request.Content, ContentTypes[random.Next(ContentTypes.Length)]);
            if (random.Next(4) == 0)
            {
                request.Headers.TryAddWithoutValidation("Idempotency-Key", random.Next(3) == 0 ? "key with spaces" : "k" + random.Next(20));
            }

            await Send(request, $"spec {i}");
        }

        for (var i = 0; i < Others; i++)
        {
            var path = Paths[random.Next(Paths.Length)].Replace("{c}", Names[random.Next(Names.Length)], StringComparison.Ordinal).Replace("{r}", Names[random.Next(Names.Length)], StringComparison.Ordinal) + Queries[random.Next(Queries.Length)];
            var method = random.Next(3) == 0 ? HttpMethod.Get : random.Next(5) == 0 ? new HttpMethod(new[] { "PUT", "DELETE", "PATCH", "OPTIONS" }[random.Next(4)]) : HttpMethod.Post;
            var request = new HttpRequestMessage(method, path);
            if (method != HttpMethod.Get && random.Next(4) != 0)
            {
                var bytes = random.Next(6) == 0 ? RandomBytes(random) : Encoding.UTF8.GetBytes(Bodies[random.Next(Bodies.Length)]);
                request.Content = new ByteArrayContent(bytes);
                SetContentType(request.Content, random.Next(3) == 0 ? ContentTypes[random.Next(ContentTypes.Length)] : "application/json");
            }

            if (random.Next(3) == 0)
            {
                request.Headers.TryAddWithoutValidation(random.Next(2) == 0 ? "If-Match" : "If-None-Match", Tags[random.Next(Tags.Length)]);
            }

            if (random.Next(5) == 0)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", random.Next(2) == 0 ? "-3" : "x" + new string('~', 300));
            }

            if (path.Contains("/events", StringComparison.Ordinal) && method == HttpMethod.Get)
            {
                // A watch of an existing run would stream until the run ends: only unknown runs here.
                request.Dispose();
                continue;
            }

            await Send(request, $"{method} {path}");
        }

        output.WriteLine($"{Specs + Others} generated requests: " + string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} x{kv.Value}")));
        Assert.False(coordinator.Cluster.CoordinatorProcess.HasExited);
        using var health = await coordinator.SendAsync(HttpMethod.Get, "api/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var valid = await coordinator.PostAsync("api/v1/runs", TestSpecs.Pair.Replace("cohort: pair", "cohort: after-the-storm", StringComparison.Ordinal), "application/yaml");
        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
        Assert.True(statuses.GetValueOrDefault(400) > Specs / 2, "most generated specs are invalid");
    }

    private static void SetContentType(HttpContent content, string type)
    {
        content.Headers.Remove("Content-Type");
        if (type.Length > 0)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", type);
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(1, random.Next(2) == 0 ? 64 : 2 << 20)];
        random.NextBytes(bytes);
        return bytes;
    }
}
