using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Browser;

/// <summary>
/// A coordinator and one worker (two slots) as processes, for the live view's tests; the coordinator
/// also takes JWTs of the test identity provider of <see cref="AccessControlTests"/>, signed with <see cref="SsoKey"/>.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LiveViewCluster : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("peerdistill-liveview-");
    private readonly Lines _lines = new();
    private Cluster? _cluster;

    internal Cluster Cluster => _cluster!;

    /// <summary>The key the test identity provider signs JWTs with.</summary>
    internal RSA SsoKey { get; } = RSA.Create(2048);

    /// <summary>Where the coordinator's lines go: the current test's output, when one listens.</summary>
    internal ITestOutputHelper? Output
    {
        get => _lines.Target;
        set => _lines.Target = value;
    }

    public async Task InitializeAsync()
    {
        var publicKey = Path.Combine(_dir.Path, "sso.pub");
        await File.WriteAllTextAsync(publicKey, SsoKey.ExportSubjectPublicKeyInfoPem());
        var jwt = new Dictionary<string, string>
        {
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__ISSUER"] = AccessControlTests.Issuer,
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__AUDIENCE"] = AccessControlTests.Audience,
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__SIGNINGKEYS__0"] = publicKey,
        };
        _cluster = await Cluster.StartAsync(_dir.Path, [], _lines, coordinatorEnvironment: jwt);
        _cluster.StartWorker("w1", slots: 2);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        SsoKey.Dispose();
        _dir.Dispose();
    }

    /// <summary>An HTTP client of the coordinator's REST port that sends <paramref name="token"/> (none: null), keeps no cookies and follows no redirects.</summary>
    internal HttpClient Client(string? token)
    {
        var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(Cluster.HttpUrl + "/"), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    /// <summary>Submits <paramref name="spec"/> (YAML) with the admin token; the run's id.</summary>
    internal async Task<string> SubmitAsync(string spec)
    {
        using var http = Client(Cluster.Token);
        using var response = await http.PostAsync("api/v1/runs", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"submission answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("run").GetString()!;
    }

    /// <summary>Reads the run (admin token) until every peer has done at least <paramref name="steps"/> steps; the run.</summary>
    internal async Task<JsonElement> WaitForStepsAsync(string cohort, string run, long steps, TimeSpan timeout)
    {
        using var http = Client(Cluster.Token);
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < timeout)
        {
            using var response = await http.GetAsync($"api/v1/runs/{cohort}/{run}");
            if (response.IsSuccessStatusCode)
            {
                last = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                var peers = last.GetProperty("peers").EnumerateArray().ToList();
                if (peers.Count > 0 && peers.All(p => p.GetProperty("step").GetInt64() >= steps))
                {
                    return last;
                }

                Assert.True(last.GetProperty("state").GetString() is "pending" or "running", $"the run ended before every peer did {steps} steps: {last}");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the peers of {cohort}/{run} did not reach step {steps} in {timeout}; last: {last}");
    }

    /// <summary>The coordinator's and the worker's lines, to the current test's output (none between tests).</summary>
    private sealed class Lines : ITestOutputHelper
    {
        public ITestOutputHelper? Target { get; set; }

        public void WriteLine(string message) => Target?.WriteLine(message);

        public void WriteLine(string format, params object[] args) => Target?.WriteLine(format, args);
    }
}
