using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// A coordinator and named workers as real processes on loopback, writing under one directory;
/// every line they print goes to the test's output. Killed (whole trees) on dispose.
/// </summary>
internal sealed partial class Cluster : IAsyncDisposable
{
    private readonly string _dir;
    private readonly ITestOutputHelper _output;
    private readonly ConcurrentDictionary<string, Process> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Process> _all = new();
    private readonly ConcurrentQueue<(string Who, string Line)> _lines = new();
    private Process _coordinator = null!;

    private readonly string? _database;
    private IReadOnlyDictionary<string, string> _coordinatorEnvironment = new Dictionary<string, string>();
    private X509Certificate2? _authority;

    private Cluster(string dir, ITestOutputHelper output, string? database)
    {
        _dir = dir;
        _output = output;
        _database = database;
    }

    /// <summary>The coordinator's address, e.g. <c>http://127.0.0.1:41234</c> (<c>https://</c> when it serves TLS).</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>The coordinator's REST address (HTTP/1.1), e.g. <c>http://127.0.0.1:41235</c> (<c>https://</c> when it serves TLS).</summary>
    public string HttpUrl { get; private set; } = string.Empty;

    /// <summary>The coordinator's cluster endpoint (<c>host:port</c> of its silo), which workers join.</summary>
    public string ClusterEndpoint { get; private set; } = string.Empty;

    /// <summary>The admin token the coordinator made on its first start (from its owner-only file in its data directory).</summary>
    public string Token { get; private set; } = string.Empty;

    /// <summary>The variable that gives a coordinator its admin token from a file (Coordinator:Access:AdminTokenFromFile).</summary>
    public const string AdminTokenFromFile = "PEERDISTILL_COORDINATOR__ACCESS__ADMINTOKENFROMFILE";

    /// <summary>
    /// The rate limits every coordinator of these tests runs with unless a test sets its own: far above
    /// what a test sends (a test that floods the API sets the defaults back or its own).
    /// </summary>
    public static IReadOnlyDictionary<string, string> GenerousRateLimits { get; } = new Dictionary<string, string>
    {
        ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__PERCREDENTIAL"] = "1000000",
        ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__PERADDRESS"] = "1000000",
        ["PEERDISTILL_COORDINATOR__ACCESS__RATELIMITS__UNAUTHENTICATEDPERADDRESS"] = "1000000",
    };

    /// <summary>The runs root the coordinator writes under.</summary>
    public string Runs => Path.Combine(_dir, "runs");

    /// <summary>
    /// A coordinator (on its SQLite file in <paramref name="dir"/>, or on the PostgreSQL database of
    /// <paramref name="database"/>, which the workers then join the cluster through) and <paramref name="workers"/>.
    /// A coordinator that serves TLS is trusted by the test's clients when its certificate chains to
    /// the authority file <paramref name="authority"/>.
    /// </summary>
    public static async Task<Cluster> StartAsync(string dir, string[] workers, ITestOutputHelper output, string? database = null, IReadOnlyDictionary<string, string>? coordinatorEnvironment = null, string? authority = null)
    {
        var environment = new Dictionary<string, string>(GenerousRateLimits);
        foreach (var (name, value) in coordinatorEnvironment ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        var cluster = new Cluster(dir, output, database)
        {
            _coordinatorEnvironment = environment,
            _authority = authority is null ? null : ClusterCertificates.LoadCertificate(authority),
        };
        await cluster.StartCoordinatorAsync(port: 0, httpPort: 0, clusterPort: 0);
        foreach (var w in workers)
        {
            cluster.StartWorker(w);
        }

        return cluster;
    }

    /// <summary>A channel to the coordinator whose calls carry the admin token (the caller disposes it).</summary>
    public GrpcChannel Coordinator() => GrpcChannels.ForAddress(Url, Token, Trust());

    /// <summary>A channel to the coordinator whose calls carry <paramref name="token"/> (none when null).</summary>
    public GrpcChannel Coordinator(string? token) => GrpcChannels.ForAddress(Url, token, Trust());

    /// <summary>A channel to another address of the coordinator (its REST port: with TLS it serves gRPC too) whose calls carry the admin token.</summary>
    public GrpcChannel CoordinatorAt(string address) => GrpcChannels.ForAddress(address, Token, Trust());

    /// <summary>An HTTP client of the REST API at <paramref name="path"/> (under the REST address), sending the admin token (the caller disposes it).</summary>
    public HttpClient Http(string path = "") => Http(path, Token);

    /// <summary>An HTTP client of the REST API at <paramref name="path"/> sending <paramref name="token"/> (none when null).</summary>
    public HttpClient Http(string path, string? token) => HttpAt(HttpUrl + "/" + path, token);

    /// <summary>An HTTP client of the REST API at another address of the coordinator (its gRPC port: with TLS it serves REST too), sending the admin token.</summary>
    public HttpClient HttpAt(string address) => HttpAt(address.TrimEnd('/') + "/", Token);

    /// <summary>
    /// TLS client settings trusting the authority the cluster was started with (a coordinator that
    /// serves TLS), or null: the system's trust store (and h2c / HTTP for an http:// address).
    /// </summary>
    private System.Net.Security.SslClientAuthenticationOptions? Trust() => _authority is null ? null : ClusterCertificates.TrustServersOf(_authority);

    private HttpClient HttpAt(string baseAddress, string? token)
    {
        var http = new HttpClient(new SocketsHttpHandler { SslOptions = Trust() ?? new() }) { BaseAddress = new Uri(baseAddress), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    /// <summary>Environment variables of the workers started from now on (besides the test process's own).</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary>Starts a worker with id <paramref name="id"/>, known to the test as <paramref name="key"/> (default: its id), with <paramref name="extra"/> flags.</summary>
    public void StartWorker(string id, int slots = 1, string? key = null, params string[] extra)
    {
        key ??= id;
        string[] args = ["worker", "--coordinator", ClusterEndpoint, "--slots", slots.ToString(System.Globalization.CultureInfo.InvariantCulture), "--id", id, .. extra];
        var p = CliProcess.StartIn(_dir, WorkerEnvironment, _database is null ? args : [.. args, "--database", _database]);
        Follow(p, key, line =>
        {
            if (WorkerAddress().Match(line) is { Success: true } m)
            {
                _addresses[key] = m.Groups[1].Value.TrimEnd('/');
            }
        });
        _workers[key] = p;
    }

    /// <summary>Every line any process printed that contains <paramref name="text"/>, with who printed it.</summary>
    public IReadOnlyList<string> AnyLines(string text) => _lines.Where(l => l.Line.Contains(text, StringComparison.Ordinal)).Select(l => $"[{l.Who}] {l.Line}").ToList();

    /// <summary>The lines a process printed that contain <paramref name="text"/>.</summary>
    public IReadOnlyList<string> Lines(string who, string text) => _lines.Where(l => l.Who == who && l.Line.Contains(text, StringComparison.Ordinal)).Select(l => l.Line).ToList();

    /// <summary>The address a worker serves PeerExchange at, once it printed it.</summary>
    public async Task<string> WorkerAddressAsync(string id)
    {
        var clock = Stopwatch.StartNew();
        while (!_addresses.ContainsKey(id))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"worker {id} printed no address");
            }

            await Task.Delay(50);
        }

        return _addresses[id];
    }

    public Process Worker(string id) => _workers[id];

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for a worker to exit and then for the last lines it
    /// printed (a timed <see cref="Process.WaitForExit(TimeSpan)"/> returns before the output
    /// readers have seen the end of its streams, so its last lines may not be read yet).
    /// </summary>
    public bool WaitForExit(string id, TimeSpan timeout)
    {
        if (!_workers[id].WaitForExit(timeout))
        {
            return false;
        }

        _workers[id].WaitForExit();
        return true;
    }

    public Process CoordinatorProcess => _coordinator;

    /// <summary>Kills a worker's process tree (SIGKILL) and waits for it.</summary>
    public void Kill(string id)
    {
        _workers[id].Kill(entireProcessTree: true);
        _workers[id].WaitForExit();
    }

    /// <summary>Sends a signal (STOP, CONT, TERM, ...) to a worker's process.</summary>
    public void Signal(string id, string signal) => Signal(_workers[id], signal);

    /// <summary>Kills the coordinator (SIGKILL) and starts a new one, with empty state (a new cluster), on the same ports.</summary>
    public async Task RestartCoordinatorAsync()
    {
        _coordinator.Kill(entireProcessTree: true);
        await _coordinator.WaitForExitAsync();
        await StartCoordinatorAsync(new Uri(Url).Port, new Uri(HttpUrl).Port, int.Parse(ClusterEndpoint[(ClusterEndpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>How many lines every process has printed so far (a mark for <see cref="LinesSince"/>).</summary>
    public int LineCount => _lines.Count;

    /// <summary>The lines <paramref name="who"/> printed after <paramref name="mark"/> (a <see cref="LineCount"/>).</summary>
    public IReadOnlyList<string> LinesSince(int mark, string who) => [.. _lines.Skip(mark).Where(l => l.Who == who).Select(l => l.Line)];

    /// <summary>How many lines containing <paramref name="text"/> a process printed (who: the worker id or "coordinator").</summary>
    public int Printed(string who, string text) => _lines.Count(l => l.Who == who && l.Line.Contains(text, StringComparison.Ordinal));

    /// <summary>Waits until <paramref name="who"/> printed <paramref name="text"/> at least <paramref name="times"/> times.</summary>
    public async Task WaitForLineAsync(string who, string text, int times, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Printed(who, text) < times)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{who} printed '{text}' {Printed(who, text)} time(s), not {times}, in {timeout}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Polls GetCohort until <paramref name="done"/> holds, at most <paramref name="timeout"/>.</summary>
    public async Task<CohortStatus> WaitForAsync(GetCohortRequest request, Func<CohortStatus, bool> done, TimeSpan timeout)
    {
        using var channel = Coordinator();
        var clock = Stopwatch.StartNew();
        CohortStatus? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = await new CohortService.CohortServiceClient(channel).GetCohortAsync(request, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(5)));
                if (done(last))
                {
                    return last;
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                // Not submitted yet, or the silo hosting the cohort's grain is dying: a call to it
                // waits until Orleans declares it dead and the grain answers from another silo.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"cohort did not reach the expected state in {timeout}; last: {last}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _all)
        {
            try
            {
                if (!p.HasExited)
                {
                    Signal(p, "CONT");
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }
    }

    private static void Signal(Process p, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    private async Task StartCoordinatorAsync(int port, int httpPort, int clusterPort)
    {
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var http = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        string[] args = ["coordinator", "--port", port.ToString(culture), "--http-port", httpPort.ToString(culture), "--cluster-port", clusterPort.ToString(culture), "--output", Runs];
        var p = CliProcess.StartIn(_dir, _coordinatorEnvironment, _database is null ? args : [.. args, "--database-provider", "postgres", "--database", _database]);
        Follow(p, "coordinator", line =>
        {
            if (CoordinatorAddress().Match(line) is { Success: true } m)
            {
                url.TrySetResult(m.Groups[1].Value.TrimEnd('/'));
            }

            if (RestAddress().Match(line) is { Success: true } r)
            {
                http.TrySetResult(r.Groups[1].Value.TrimEnd('/'));
            }

            if (CoordinatorEndpoint().Match(line) is { Success: true } e)
            {
                endpoint.TrySetResult(e.Groups[1].Value);
            }
        });
        _ = p.WaitForExitAsync().ContinueWith(_ =>
        {
            url.TrySetException(new InvalidOperationException("the coordinator exited before it listened"));
            http.TrySetException(new InvalidOperationException("the coordinator exited before it listened"));
            endpoint.TrySetException(new InvalidOperationException("the coordinator exited before it listened"));
        }, TaskScheduler.Default);
        _coordinator = p;
        Url = await url.Task.WaitAsync(TimeSpan.FromSeconds(60));
        HttpUrl = await http.Task.WaitAsync(TimeSpan.FromSeconds(60));
        ClusterEndpoint = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // Written before the API listens (and kept by a restarted coordinator on the same data); or the
        // deployment's own, when the coordinator was given one.
        Token = (await File.ReadAllTextAsync(_coordinatorEnvironment.TryGetValue(AdminTokenFromFile, out var given) ? given : Path.Combine(_dir, "data", "admin.token"))).Trim();
    }

    private void Follow(Process p, string who, Action<string> onLine)
    {
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            _lines.Enqueue((who, line));
            onLine(line);
            try
            {
                _output.WriteLine($"[{who}] {line}");
            }
            catch (InvalidOperationException)
            {
                // The test is over.
            }
        }

        p.OutputDataReceived += (_, e) => Line(e.Data);
        p.ErrorDataReceived += (_, e) => Line(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _all.Enqueue(p);
    }

    [GeneratedRegex(@"listening at (https?://\S+)")]
    private static partial Regex CoordinatorAddress();

    [GeneratedRegex(@"REST API at (https?://\S+?)/api/v1")]
    private static partial Regex RestAddress();

    [GeneratedRegex(@"cluster endpoint (\S+)")]
    private static partial Regex CoordinatorEndpoint();

    [GeneratedRegex(@"worker '[^']*' serving at (https?://\S+)")]
    private static partial Regex WorkerAddress();
}
