using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>The cohort API over REST, against a coordinator process: every operation and every refusal, as an outside client sees them.</summary>
public sealed class RestApiTests(RestCoordinator coordinator) : IClassFixture<RestCoordinator>
{
    private const string Yaml = "application/yaml";

    private static string Spec(string cohort) => TestSpecs.Pair.Replace("cohort: pair", "cohort: " + cohort, StringComparison.Ordinal);

    [Fact]
    public async Task Submit_Yaml_Created_WithLocationAndETag_ThenGetAnswersTheSameRun()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", Spec("rest-create"), Yaml);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var run = await RestCoordinator.JsonOf(created);
        Assert.Equal("rest-create", run.GetProperty("cohort").GetString());
        Assert.Equal("pending", run.GetProperty("state").GetString());
        Assert.Equal(["a", "b"], run.GetProperty("peers").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("/api/v1/runs/rest-create/" + run.GetProperty("run").GetString(), created.Headers.Location?.OriginalString);
        var etag = created.Headers.ETag?.Tag;
        Assert.Equal("\"" + run.GetProperty("version").GetInt64() + "\"", etag);

        using var got = await coordinator.SendAsync(HttpMethod.Get, created.Headers.Location!.OriginalString.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal(run.GetProperty("run").GetString(), (await RestCoordinator.JsonOf(got)).GetProperty("run").GetString());
        using var notModified = await coordinator.SendAsync(HttpMethod.Get, created.Headers.Location!.OriginalString.TrimStart('/'), headers: r => r.Headers.TryAddWithoutValidation("If-None-Match", got.Headers.ETag!.Tag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using var latest = await coordinator.SendAsync(HttpMethod.Get, "api/v1/runs/rest-create/latest");
        Assert.Equal(run.GetProperty("run").GetString(), (await RestCoordinator.JsonOf(latest)).GetProperty("run").GetString());
        await CancelAsync("rest-create");
    }

    [Fact]
    public async Task Submit_Json_Created()
    {
        const string json = """
            {"cohort": "rest-json",
             "peers": [{"name": "a", "model": "mlp", "model_options": {"widths": [16]}, "seed": 1},
                       {"name": "b", "model": "mlp", "model_options": {"widths": [16]}, "seed": 2}],
             "distillation": {"strategy": "dml"},
             "data": {"dataset": "synthetic", "batch_size": 8, "synthetic": {"train_count": 64, "test_count": 16}}}
            """;

        using var created = await coordinator.PostAsync("api/v1/runs", json, "application/json; charset=utf-8");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await CancelAsync("rest-json");
    }

    [Fact]
    public async Task Submit_InvalidSpec_BadRequest_ProblemListingEachFieldWithPathAndLine()
    {
        var bad = Spec("rest-bad").Replace("batch_size: 32", "batch_size: -3", StringComparison.Ordinal).Replace("temperature: 1,", "temperature: -1,", StringComparison.Ordinal);

        using var response = await coordinator.PostAsync("api/v1/runs", bad, Yaml);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await RestCoordinator.JsonOf(response);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        var batch = Assert.Single(errors, e => e.GetProperty("path").GetString() == "data.batch_size");
        Assert.Equal(Spec("rest-bad").Split('\n').ToList().FindIndex(l => l.Contains("batch_size", StringComparison.Ordinal)) + 1, batch.GetProperty("line").GetInt32());
        Assert.Contains(errors, e => e.GetProperty("path").GetString() == "distillation.temperature");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/yaml; charset=latin1")]
    [InlineData("")]
    public async Task Submit_WrongContentType_UnsupportedMediaType(string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/runs") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Spec("rest-415"))) };
        if (contentType.Length > 0)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await coordinator.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("Content-Type", (await RestCoordinator.JsonOf(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_BodyOverTheLimit_PayloadTooLarge_AndNotUtf8_BadRequest()
    {
        using var huge = await coordinator.PostAsync("api/v1/runs", Spec("rest-413") + "\n# " + new string('x', (1 << 20) + 10), Yaml);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/runs") { Content = new ByteArrayContent([.. Encoding.UTF8.GetBytes("cohort: x\n# "), 0xC3, 0x28, 0xFF]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", Yaml);
        using var broken = await coordinator.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("not UTF-8", (await RestCoordinator.JsonOf(broken)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_SameIdempotencyKey_AnswersTheFirstRun_AnotherSpecUnderIt_Unprocessable()
    {
        var key = Guid.NewGuid().ToString();
        void Key(HttpRequestMessage r) => r.Headers.Add("Idempotency-Key", key);

        using var first = await coordinator.PostAsync("api/v1/runs", Spec("rest-idem"), Yaml, Key);
        using var retry = await coordinator.PostAsync("api/v1/runs", Spec("rest-idem"), Yaml, Key);
        using var other = await coordinator.PostAsync("api/v1/runs", Spec("rest-idem-2"), Yaml, Key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((await RestCoordinator.JsonOf(first)).GetProperty("run").GetString(), (await RestCoordinator.JsonOf(retry)).GetProperty("run").GetString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        await CancelAsync("rest-idem");
    }

    [Fact]
    public async Task Submit_CohortWithARunThatHasNotEnded_Conflict()
    {
        using var first = await coordinator.PostAsync("api/v1/runs", Spec("rest-twice"), Yaml);
        using var second = await coordinator.PostAsync("api/v1/runs", Spec("rest-twice"), Yaml);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        await CancelAsync("rest-twice");
    }

    [Theory]
    [InlineData("GET", "api/v1/runs/nosuch/nosuch-1", HttpStatusCode.NotFound)]
    [InlineData("GET", "api/v1/nothing-here", HttpStatusCode.NotFound)]
    [InlineData("DELETE", "api/v1/runs", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "api/v1/runs?limit=0", HttpStatusCode.BadRequest)]
    [InlineData("GET", "api/v1/runs?limit=many", HttpStatusCode.BadRequest)]
    [InlineData("GET", "api/v1/runs?state=sleeping", HttpStatusCode.BadRequest)]
    [InlineData("GET", "api/v1/runs?cursor=bm90LWEtY3Vyc29y", HttpStatusCode.BadRequest)]
    [InlineData("GET", "api/v1/runs/nosuch/nosuch-1/metrics", HttpStatusCode.NotFound)]
    [InlineData("GET", "api/v1/runs/nosuch/nosuch-1/metrics?max_points=0", HttpStatusCode.BadRequest)]
    [InlineData("GET", "api/v1/runs/nosuch/nosuch-1/metrics?from=9&to=3", HttpStatusCode.BadRequest)]
    public async Task Refusals_AreProblems(string method, string path, HttpStatusCode status)
    {
        using var response = await coordinator.SendAsync(new HttpMethod(method), path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, (await RestCoordinator.JsonOf(response)).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task List_FiltersByCohortAndState_AndPagesWithACursor()
    {
        foreach (var cohort in new[] { "rest-list-1", "rest-list-2", "rest-list-3" })
        {
            using var created = await coordinator.PostAsync("api/v1/runs", Spec(cohort), Yaml);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await CancelAsync("rest-list-2");
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            using var page = await coordinator.SendAsync(HttpMethod.Get, "api/v1/runs?limit=1" + (cursor is null ? string.Empty : "&cursor=" + cursor));
            var body = await RestCoordinator.JsonOf(page);
            Assert.True(body.GetProperty("runs").GetArrayLength() <= 1);
            seen.AddRange(body.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("cohort").GetString() + "/" + r.GetProperty("run").GetString()));
            cursor = body.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        var mine = seen.Where(c => c.StartsWith("rest-list-", StringComparison.Ordinal)).Select(c => c[..c.IndexOf('/', StringComparison.Ordinal)]).ToList();
        Assert.Equal(["rest-list-3", "rest-list-2", "rest-list-1"], mine);
        Assert.Equal(seen.Count, seen.Distinct().Count()); // no run on two pages
        using var cancelled = await coordinator.SendAsync(HttpMethod.Get, "api/v1/runs?state=cancelled&cohort=rest-list-2");
        Assert.Equal(["rest-list-2"], (await RestCoordinator.JsonOf(cancelled)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("cohort").GetString()));
        using var pending = await coordinator.SendAsync(HttpMethod.Get, "api/v1/runs?state=pending&cohort=rest-list-2");
        Assert.Equal(0, (await RestCoordinator.JsonOf(pending)).GetProperty("runs").GetArrayLength());
        await CancelAsync("rest-list-1");
        await CancelAsync("rest-list-3");
    }

    [Fact]
    public async Task Cancel_StaleIfMatch_PreconditionFailed_CurrentIfMatch_Cancels_GarbageIfMatch_BadRequest()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", Spec("rest-cancel"), Yaml);
        var path = created.Headers.Location!.OriginalString.TrimStart('/') + "/cancel";
        var version = (await RestCoordinator.JsonOf(created)).GetProperty("version").GetInt64();

        using var stale = await coordinator.SendAsync(HttpMethod.Post, path, headers: r => r.Headers.TryAddWithoutValidation("If-Match", "\"" + (version + 7) + "\""));
        using var garbage = await coordinator.SendAsync(HttpMethod.Post, path, headers: r => r.Headers.TryAddWithoutValidation("If-Match", "not-a-tag"));
        using var cancelled = await coordinator.PostAsync(path, "{\"reason\": \"enough\"}", "application/json", r => r.Headers.TryAddWithoutValidation("If-Match", "\"" + version + "\""));
        using var unknownField = await coordinator.PostAsync(path, "{\"reasn\": 1}", "application/json");

        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var run = await RestCoordinator.JsonOf(cancelled);
        Assert.Equal("cancelled", run.GetProperty("state").GetString());
        Assert.Contains(run.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "cancelled" && e.GetProperty("message").GetString() == "enough");
        Assert.Equal(HttpStatusCode.BadRequest, unknownField.StatusCode);
    }

    [Fact]
    public async Task Watch_ServerSentEvents_UntilTheRunEnds_ResumableFromTheLastEventId()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", Spec("rest-watch"), Yaml);
        var path = created.Headers.Location!.OriginalString.TrimStart('/');

        var events = new List<(string Id, string State)>();
        using (var stream = await coordinator.Http.GetAsync(path + "/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            string? id = null;
            string? data = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line[6..];
                }
                else if (line.Length == 0 && data is not null)
                {
                    // The end of one event.
                    events.Add((id ?? "(none)", JsonDocument.Parse(data).RootElement.GetProperty("state").GetString()!));
                    (id, data) = (null, null);
                    if (events.Count == 1)
                    {
                        await CancelAsync("rest-watch");
                    }
                }
            }
        }

        Assert.Equal("pending", events[0].State);
        Assert.Equal("cancelled", events[^1].State);
        Assert.True(events.Select(e => long.Parse(e.Id, System.Globalization.CultureInfo.InvariantCulture)).Zip(events.Skip(1).Select(e => long.Parse(e.Id, System.Globalization.CultureInfo.InvariantCulture))).All(p => p.First < p.Second), "event ids grow");

        // Resumed after the last event: the run has ended, so only its final state comes, once.
        using var resume = new HttpRequestMessage(HttpMethod.Get, path + "/events");
        resume.Headers.Add("Last-Event-ID", events[^1].Id);
        using var resumed = await coordinator.Http.SendAsync(resume);
        var sent = (await resumed.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
        Assert.Equal("cancelled", JsonDocument.Parse(Assert.Single(sent)[6..]).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Steering_RefusedWhereTheStateDoesNotAllowIt_AndABadChangeNamesItsField()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", Spec("rest-steer"), Yaml);
        var path = created.Headers.Location!.OriginalString.TrimStart('/');

        using var resumeRunning = await coordinator.SendAsync(HttpMethod.Post, path + "/resume");
        using var badChange = await coordinator.PostAsync(path + "/changes", "{\"data\": {\"batch_size\": 8}}", "application/json");
        using var staleChange = await coordinator.PostAsync(path + "/changes", "{\"distillation\": {\"alpha\": 0.5}}", "application/json", r => r.Headers.TryAddWithoutValidation("If-Match", "\"999999\""));
        await CancelAsync("rest-steer");
        using var pauseEnded = await coordinator.SendAsync(HttpMethod.Post, path + "/pause");
        using var changeEnded = await coordinator.PostAsync(path + "/changes", "distillation: {alpha: 0.5}\n", Yaml);

        Assert.Equal(HttpStatusCode.Conflict, resumeRunning.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badChange.StatusCode);
        Assert.Contains((await RestCoordinator.JsonOf(badChange)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString()!.Contains("batch_size", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.PreconditionFailed, staleChange.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, pauseEnded.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, changeEnded.StatusCode);
    }

    [Fact]
    public async Task Delete_ARunThatHasNotEnded_Conflict_AnEndedOne_GoneWithItsFiles()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", Spec("rest-delete"), Yaml);
        var path = created.Headers.Location!.OriginalString.TrimStart('/');
        var run = await RestCoordinator.JsonOf(created);
        var outputDirectory = Path.Combine(coordinator.Cluster.Runs, "rest-delete", run.GetProperty("run").GetString()!);
        Directory.CreateDirectory(outputDirectory);
        await File.WriteAllTextAsync(Path.Combine(outputDirectory, "metrics.a.jsonl"), "{}\n");

        using var running = await coordinator.SendAsync(HttpMethod.Delete, path);
        await CancelAsync("rest-delete");
        using var badFlag = await coordinator.SendAsync(HttpMethod.Delete, path + "?files=maybe");
        using var deleted = await coordinator.SendAsync(HttpMethod.Delete, path + "?files=true");
        using var gone = await coordinator.SendAsync(HttpMethod.Get, path);
        using var again = await coordinator.SendAsync(HttpMethod.Delete, path);

        Assert.Equal(HttpStatusCode.Conflict, running.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badFlag.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.False(Directory.Exists(outputDirectory));
        Assert.True(Directory.Exists(coordinator.Cluster.Runs));
    }

    [Fact]
    public async Task HealthAndVersion_Answer()
    {
        using var health = await coordinator.SendAsync(HttpMethod.Get, "api/v1/health");
        using var version = await coordinator.SendAsync(HttpMethod.Get, "api/v1/version");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("serving", (await RestCoordinator.JsonOf(health)).GetProperty("status").GetString());
        Assert.Equal("v1", (await RestCoordinator.JsonOf(version)).GetProperty("api").GetString());
    }

    [Fact]
    public async Task OpenApiDocument_AndReferencePage_AreServed()
    {
        using var document = await coordinator.SendAsync(HttpMethod.Get, "openapi/v1.json");
        // "scalar/" itself: the redirect from "scalar" would drop the Authorization header (as HttpClient and browsers do).
        using var page = await coordinator.SendAsync(HttpMethod.Get, "scalar/");

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.StartsWith("3.1", (await RestCoordinator.JsonOf(document)).GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    private async Task CancelAsync(string cohort)
    {
        using var response = await coordinator.SendAsync(HttpMethod.Post, $"api/v1/runs/{cohort}/latest/cancel");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
