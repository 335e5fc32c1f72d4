using System.Net;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Browser;

/// <summary>
/// The coordinator's live view (<c>/ui/</c>) in headless Chromium while a cohort trains on a worker,
/// and the way into the Orleans dashboard (<c>/orleans/</c>): a session cookie that opens GETs under
/// /orleans and nothing else.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LiveViewTests : IClassFixture<LiveViewCluster>, IDisposable
{
    /// <summary>
    /// Two wide MLPs (tens of steps a second on two cores) for 880 steps, evaluated every 20: long
    /// enough to load the page twice while they train, and fewer steps than the page asks of the
    /// metrics history (1000 per peer), which is then never thinned: each load has every recorded row.
    /// </summary>
    private const string Spec = """
        cohort: live-view
        peers:
          - {name: a, model: mlp, model_options: {widths: [1024, 1024]}, optimizer: {kind: adam, lr: 0.001, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [768, 768]}, optimizer: {kind: adam, lr: 0.001, weight_decay: 0}, seed: 2}
        distillation: {strategy: dml, temperature: 1, alpha: 1}
        data:
          dataset: synthetic
          batch_size: 256
          epochs: 110
          synthetic: {train_count: 2048, test_count: 256, noise: 0.5}
        evaluation: {every_steps: 20, at_epoch_end: false}
        checkpoints: {every_steps: 100000, keep_last: 3}
        exchange: {step_timeout_seconds: 600}
        """;

    /// <summary>What the page shows, read in the page.</summary>
    private const string Snapshot = """
        (() => {
          const curves = (chart) => Object.fromEntries([...document.querySelectorAll('#' + chart + ' polyline.curve')]
            .map((p) => [p.dataset.peer, { points: Number(p.dataset.points), last: Number(p.dataset.lastStep) }]));
          const message = document.getElementById('message');
          return {
            title: document.getElementById('run-title').textContent,
            connection: document.body.dataset.connection,
            hash: location.hash,
            stored: sessionStorage.getItem('peerdistill.token') !== null,
            runs: [...document.querySelectorAll('#runs tbody tr')].map((r) => r.dataset.cohort + '/' + r.dataset.run),
            peers: [...document.querySelectorAll('#peers tbody tr')].map((r) => ({ name: r.dataset.peer, cells: [...r.cells].map((c) => c.textContent) })),
            events: document.querySelectorAll('#events li').length,
            loss: curves('loss-chart'),
            accuracy: curves('accuracy-chart'),
            dashboard: !document.getElementById('dashboard-link').hidden,
            message: message.hidden ? null : message.textContent,
          };
        })()
        """;

    private const int Width = 1280;
    private const int Height = 900;

    private readonly LiveViewCluster _cluster;
    private readonly ITestOutputHelper _output;

    public LiveViewTests(LiveViewCluster cluster, ITestOutputHelper output)
    {
        _cluster = cluster;
        _output = output;
        cluster.Output = output;
    }

    public void Dispose() => _cluster.Output = null;

    private static bool TimeCell(JsonElement peer, int index) =>
        System.Text.RegularExpressions.Regex.IsMatch(peer.GetProperty("cells")[index].GetString() ?? string.Empty, @"^[\d.,]+ ms$");

    [ChromiumFact]
    public async Task LivePage_InHeadlessChromium_ShowsTheRunItsPeersAndCurvesThatGrow()
    {
        var run = await _cluster.SubmitAsync(Spec);
        await _cluster.WaitForStepsAsync("live-view", run, 40, TimeSpan.FromSeconds(60));
        await using var browser = await HeadlessChromium.StartAsync(Width, Height);

        // The token in the fragment (never sent to the server), the run chosen there too.
        await browser.NavigateAsync($"{_cluster.Cluster.HttpUrl}/ui/#token={_cluster.Cluster.Token}&run=live-view/{run}");
        // Seeded from the history, then live: the stream is open ("live") before its first event, the
        // run with its peers and events, arrives (at load 20 that took seconds), so wait for both.
        var first = await browser.WaitForAsync(
            Snapshot,
            s => Points(s, "loss", "a") > 0 && Points(s, "loss", "b") > 0 && Points(s, "accuracy", "a") > 0 && s.GetProperty("connection").GetString() == "live" && s.GetProperty("peers").GetArrayLength() > 0,
            TimeSpan.FromSeconds(30));
        _output.WriteLine("first load: " + first);
        Assert.Equal($"live-view / {run}", first.GetProperty("title").GetString());
        Assert.Contains($"live-view/{run}", first.GetProperty("runs").EnumerateArray().Select(r => r.GetString()));
        var peers = first.GetProperty("peers").EnumerateArray().ToList();
        Assert.Equal(["a", "b"], peers.Select(p => p.GetProperty("name").GetString()));
        foreach (var peer in peers)
        {
            var cells = peer.GetProperty("cells").EnumerateArray().Select(c => c.GetString()).ToList();
            Assert.Equal("mlp", cells[1]);
            Assert.Equal("w1", cells[2]);
            Assert.Equal("cpu", cells[3]);
            Assert.Equal("1", cells[4]);
            Assert.Matches(@"^\d+ / 880$", cells[5]);
            Assert.Equal("active", cells[6]);
            Assert.Matches(@"^(—|[\d.]+ ms)$", cells[9]);
            Assert.Matches(@"^(—|[\d.]+ ms)$", cells[10]);
        }

        Assert.True(first.GetProperty("events").GetInt32() > 0, "no events shown");
        Assert.DoesNotContain("token=", first.GetProperty("hash").GetString(), StringComparison.Ordinal);
        Assert.True(first.GetProperty("stored").GetBoolean(), "the token is not in the tab's session storage");
        Assert.True(first.GetProperty("dashboard").GetBoolean(), "the Orleans dashboard link is not shown (the session was not opened)");
        Assert.Equal(JsonValueKind.Null, first.GetProperty("message").ValueKind);

        // Live, without a reload: the watch stream extends the curves as the peers train.
        var step = Math.Max(Last(first, "a"), Last(first, "b"));
        await _cluster.WaitForStepsAsync("live-view", run, step + 60, TimeSpan.FromSeconds(60));
        var live = await browser.WaitForAsync(Snapshot, s => Points(s, "loss", "a") > Points(first, "loss", "a") && Points(s, "loss", "b") > Points(first, "loss", "b") && Last(s, "a") > Last(first, "a"), TimeSpan.FromSeconds(20));
        _output.WriteLine("live: " + live);

        // Each peer's step time and exchange wait, as its worker reported them (the run's step_ms, exchange_wait_ms).
        var timed = await browser.WaitForAsync(Snapshot, s => s.GetProperty("peers").EnumerateArray().All(p => TimeCell(p, 9) && TimeCell(p, 10)), TimeSpan.FromSeconds(20));
        _output.WriteLine("timed: " + timed);
        var png = await browser.ScreenshotAsync();

        // A second load, once the peers went on: the history it is seeded from has more rows.
        await _cluster.WaitForStepsAsync("live-view", run, Math.Max(Last(live, "a"), Last(live, "b")) + 40, TimeSpan.FromSeconds(60));
        await browser.ReloadAsync();
        var second = await browser.WaitForAsync(Snapshot, s => Points(s, "loss", "a") > 0 && s.GetProperty("connection").GetString() == "live", TimeSpan.FromSeconds(30));
        second = await browser.WaitForAsync(Snapshot, s => Points(s, "loss", "a") > Points(live, "loss", "a") && Points(s, "loss", "b") > Points(live, "loss", "b"), TimeSpan.FromSeconds(20));
        _output.WriteLine("second load: " + second);
        Assert.True(Points(second, "loss", "a") > Points(first, "loss", "a") && Points(second, "accuracy", "a") >= Points(first, "accuracy", "a"), $"the second load has no more points than the first: {first} / {second}");
        Assert.Equal($"live-view / {run}", second.GetProperty("title").GetString());

        // The screenshot: a PNG of the viewport's size that is not one colour.
        var image = PngImage.Decode(png);
        Assert.Equal((Width, Height), (image.Width, image.Height));
        Assert.True(image.DistinctColours() > 16, $"the screenshot has {image.DistinctColours()} colours");
        Assert.True(image.ShareNotBackground() > 0.02, $"the screenshot is nearly blank ({image.ShareNotBackground():P1} not background)");
        var saved = Path.Combine(AppContext.BaseDirectory, "screenshots", "live-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(saved)!);
        await File.WriteAllBytesAsync(saved, png);
        _output.WriteLine($"screenshot: {saved}");

        // A token the coordinator refuses: the token form comes back, saying why.
        await browser.NavigateAsync($"{_cluster.Cluster.HttpUrl}/ui/#token=pd_0123456789abcdef.{new string('A', 43)}");
        var refusal = await browser.WaitForAsync(
            "(() => { const m = document.getElementById('message'); return !m.hidden && !document.getElementById('token-form').hidden ? m.textContent : null; })()",
            v => v.ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(20));
        Assert.Contains("refused the token (401 Unauthorized)", refusal.GetString(), StringComparison.Ordinal);
        Assert.Contains("not known", refusal.GetString(), StringComparison.Ordinal);

        using var http = _cluster.Client(_cluster.Cluster.Token);
        (await http.PostAsync($"api/v1/runs/live-view/{run}/cancel", null)).Dispose();
    }

    [Fact]
    public async Task LivePageFiles_ServedWithoutCredentials_WithAStrictPolicy_AndRevalidated()
    {
        using var anonymous = _cluster.Client(null);

        using var root = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/ui/", root.Headers.Location?.OriginalString);
        using var bare = await anonymous.GetAsync("/ui");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/ui/", bare.Headers.Location?.OriginalString);

        foreach (var (path, type) in new[] { ("/ui/", "text/html"), ("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css") })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
            Assert.Contains("connect-src 'self';", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
            Assert.True(response.Headers.CacheControl?.NoCache, $"{path}: Cache-Control {response.Headers.CacheControl}");
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            var etag = response.Headers.ETag;
            Assert.NotNull(etag);

            // Nothing from another origin, no inline script or style.
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotMatch(@"(src|href)\s*=\s*""(https?:)?//", text);
            Assert.DoesNotContain("style=", text, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"<script(?![^>]*\ssrc=)[^>]*>", text);
            Assert.DoesNotContain("@import", text, StringComparison.Ordinal);

            using var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(etag);
            using var revalidated = await anonymous.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        }

        // What the page asks of the API without a token is refused.
        foreach (var path in new[] { "api/v1/runs?limit=50", "api/v1/runs/live-view/latest/events", "api/v1/runs/live-view/latest/metrics?max_points=1000" })
        {
            using var refused = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.StartsWith("Bearer", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OrleansDashboard_OpensWithTheSessionCookie_ForGetsUnderOrleansOnly()
    {
        using var anonymous = _cluster.Client(null);
        using var admin = _cluster.Client(_cluster.Cluster.Token);

        // Without a credential: 401, and the answer says how to get in.
        using (var none = await anonymous.GetAsync("orleans/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Contains("/ui/", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var noToken = await anonymous.PostAsync("ui/session", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        }

        var cookie = await OpenSessionAsync(admin);

        // The cookie opens the dashboard's page and its data.
        using (var page = await Get(anonymous, "orleans/", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var script = await Get(anonymous, "orleans/index.min.js", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        }

        var hosts = await WaitForHostsAsync(anonymous, cookie, 2);
        Assert.Contains("coordinator", hosts.Select(h => h.GetProperty("siloName").GetString()));
        Assert.Contains("w1", hosts.Select(h => h.GetProperty("siloName").GetString()));
        foreach (var host in hosts)
        {
            // Each silo runs the dashboard's grain service (the worker too), which samples its runtime
            // statistics every 10 s: their history answers, with a sample once one was taken.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                using var stats = await Get(anonymous, "orleans/HistoricalStats/" + host.GetProperty("siloAddress").GetString(), cookie);
                var body = await stats.Content.ReadAsStringAsync();
                Assert.True(stats.StatusCode == HttpStatusCode.OK, $"HistoricalStats of {host.GetProperty("siloName")}: {(int)stats.StatusCode} {body}");
                if (JsonDocument.Parse(body).RootElement.EnumerateArray().Any(sample => sample.ValueKind == JsonValueKind.Object))
                {
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"no runtime statistics of {host.GetProperty("siloName")} in 40 s: {body[..Math.Min(body.Length, 200)]}");
                await Task.Delay(500);
            }
        }

        using (var grainState = await Get(anonymous, "orleans/GrainState?grainId=0&grainType=PeerDistill.Cluster.Grains.TicketKeyGrain", cookie))
        {
            Assert.Equal(HttpStatusCode.Forbidden, grainState.StatusCode);
        }

        using (var notASilo = await Get(anonymous, "orleans/HistoricalStats/garbage", cookie))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notASilo.StatusCode);
        }

        // Never the API: neither a write nor a read.
        using (var submit = new HttpRequestMessage(HttpMethod.Post, "api/v1/runs") { Content = new StringContent(Spec, Encoding.UTF8, "application/yaml") })
        {
            submit.Headers.Add("Cookie", $"peerdistill_dashboard={cookie}");
            using var refused = await anonymous.SendAsync(submit);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var list = await Get(anonymous, "api/v1/runs", cookie))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        }

        // A made-up or ended session is refused; DELETE /ui/session ends the caller's sessions.
        using (var forged = await Get(anonymous, "orleans/", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using (var end = await admin.DeleteAsync("ui/session"))
        {
            Assert.Equal(HttpStatusCode.NoContent, end.StatusCode);
            Assert.Contains(end.Headers.GetValues("Set-Cookie"), c => c.StartsWith("peerdistill_dashboard=;", StringComparison.Ordinal) && c.Contains("expires=", StringComparison.OrdinalIgnoreCase));
        }

        using (var ended = await Get(anonymous, "orleans/", cookie))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
        }
    }

    [Fact]
    public async Task OrleansDashboardSession_OfAProjectToken_Refused_OfARevokedToken_Ends()
    {
        using var admin = _cluster.Client(_cluster.Cluster.Token);
        using var anonymous = _cluster.Client(null);

        using (var project = _cluster.Client(await MakeTokenAsync(admin, "dash-project", "p1")))
        using (var refused = await project.PostAsync("ui/session", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("project 'p1'", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var direct = await project.GetAsync("orleans/DashboardCounters");
            Assert.Equal(HttpStatusCode.Forbidden, direct.StatusCode);
        }

        using var reader = _cluster.Client(await MakeTokenAsync(admin, "dash-reader", null));
        var cookie = await OpenSessionAsync(reader);
        using (var open = await Get(anonymous, "orleans/", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        }

        using (var revoke = await admin.DeleteAsync("api/v1/tokens/dash-reader"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var revoked = await Get(anonymous, "orleans/", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Contains("revoked", await revoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrleansDashboardSession_OfAJwt_EndsWhenTheJwtExpires()
    {
        using var anonymous = _cluster.Client(null);
        var expires = DateTime.UtcNow.AddSeconds(5);
        using var sso = _cluster.Client(AccessControlTests.Jwt(_cluster.SsoKey, "reader", null, expires: expires));
        var cookie = await OpenSessionAsync(sso);
        using (var open = await Get(anonymous, "orleans/", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        }

        // The JWT itself passes for 30 s more (the clock skew allowed); its session ends at its expiry.
        await Task.Delay(expires - DateTime.UtcNow + TimeSpan.FromSeconds(1));
        using var ended = await Get(anonymous, "orleans/", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
        Assert.Contains("has ended", await ended.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<string> OpenSessionAsync(HttpClient client)
    {
        using var opened = await client.PostAsync("ui/session", null);
        Assert.Equal(HttpStatusCode.NoContent, opened.StatusCode);
        var setCookie = Assert.Single(opened.Headers.GetValues("Set-Cookie"));
        var attributes = setCookie.Split(';').Select(a => a.Trim()).ToList();
        Assert.StartsWith("peerdistill_dashboard=", attributes[0], StringComparison.Ordinal);
        Assert.Contains("path=/orleans", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.DoesNotContain(attributes, a => a.StartsWith("expires=", StringComparison.OrdinalIgnoreCase) || a.StartsWith("max-age=", StringComparison.OrdinalIgnoreCase));
        return attributes[0]["peerdistill_dashboard=".Length..];
    }

    private static async Task<string> MakeTokenAsync(HttpClient admin, string name, string? project)
    {
        var request = JsonSerializer.Serialize(new Dictionary<string, string?> { ["name"] = name, ["role"] = "reader", ["project"] = project, ["expires_at"] = null });
        using var made = await admin.PostAsync("api/v1/tokens", new StringContent(request, Encoding.UTF8, "application/json"));
        var body = await made.Content.ReadAsStringAsync();
        Assert.True(made.StatusCode == HttpStatusCode.Created, $"making token {name}: {(int)made.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
    }

    private static Task<HttpResponseMessage> Get(HttpClient client, string path, string cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", $"peerdistill_dashboard={cookie}");
        return client.SendAsync(request);
    }

    /// <summary>The dashboard's counters (JSON) once they list <paramref name="count"/> active silos (the worker joins after the coordinator).</summary>
    private static async Task<List<JsonElement>> WaitForHostsAsync(HttpClient client, string cookie, int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var counters = await Get(client, "orleans/DashboardCounters", cookie);
            var body = await counters.Content.ReadAsStringAsync();
            Assert.True(counters.StatusCode == HttpStatusCode.OK, $"DashboardCounters: {(int)counters.StatusCode} {body}");
            Assert.Equal("application/json", counters.Content.Headers.ContentType?.MediaType);
            var hosts = JsonDocument.Parse(body).RootElement.GetProperty("hosts").EnumerateArray().Select(h => h.Clone()).Where(h => h.GetProperty("status").GetString() == "Active").ToList();
            if (hosts.Count >= count)
            {
                return hosts;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the dashboard lists {hosts.Count} active silos, not {count}: {body}");
            await Task.Delay(500);
        }
    }

    private static long Points(JsonElement snapshot, string chart, string peer) =>
        snapshot.GetProperty(chart).TryGetProperty(peer, out var curve) ? curve.GetProperty("points").GetInt64() : 0;

    private static long Last(JsonElement snapshot, string peer) =>
        snapshot.GetProperty("loss").TryGetProperty(peer, out var curve) ? curve.GetProperty("last").GetInt64() : 0;
}
