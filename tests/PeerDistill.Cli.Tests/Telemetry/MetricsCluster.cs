using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// A coordinator and two workers, each serving its Prometheus endpoint (<c>--metrics-port 0</c>),
/// with a two-peer cohort (one peer on each worker) that trains through the class's tests, and with
/// every event the dashboard counts made to happen once, for real: the run paused and resumed (two
/// re-activations), an exchange stream without a ticket and a forged frame for a peer the worker
/// does not host (a refused stream and a refused frame), and a third worker, whose one slot is of a
/// device only a second cohort asks for, frozen (SIGSTOP) when that cohort is placed (a placement
/// failure; then killed). Started once for a test class.
/// </summary>
public sealed partial class MetricsCluster : IAsyncLifetime
{
    /// <summary>The training cohort's name.</summary>
    public const string Cohort = "pair";

    /// <summary>The cohort whose placement fails.</summary>
    public const string Stranded = "stranded";

    /// <summary>The two workers that train <see cref="Cohort"/>.</summary>
    public static readonly IReadOnlyList<string> Workers = ["w1", "w2"];

    /// <summary>The worker frozen for a placement failure.</summary>
    private const string Spare = "w3";

    /// <summary>The device of the spare worker's slot, which only the stranded cohort's peers ask for.</summary>
    private const string SpareDevice = "cuda:7";

    /// <summary>Steps of one epoch of the training cohort (its synthetic training set: this many batches of 32).</summary>
    private const int StepsPerEpoch = 20;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new("peerdistill-metrics-");
    private readonly Dictionary<string, Uri> _metrics = new(StringComparer.Ordinal);
    private readonly List<string> _timeline = [];
    private readonly Stopwatch _clock = new();
    private Cluster? _cluster;

    /// <summary>Where the processes' lines go: the output of the test that runs now.</summary>
    internal MalformedBytesTests.ForwardingOutput Output { get; } = new();

    /// <summary>The run of <see cref="Cohort"/>, training while the tests run.</summary>
    public string Run { get; private set; } = string.Empty;

    /// <summary>The coordinator's scrape endpoint.</summary>
    public Uri CoordinatorMetrics => _metrics["coordinator"];

    /// <summary>Each training worker's scrape endpoint, by worker id.</summary>
    public IReadOnlyDictionary<string, Uri> WorkerMetrics => Workers.ToDictionary(w => w, w => _metrics[w], StringComparer.Ordinal);

    /// <summary>What the fixture did and when (seconds since it started), for the tests' output.</summary>
    public IReadOnlyList<string> Timeline => _timeline;

    /// <summary>The repository's folder (the one with PeerDistill.sln).</summary>
    public static string RepoRoot => Interop.PythonGrpc.RepoRoot;

    /// <summary>A scrape of <paramref name="endpoint"/> now, parsed.</summary>
    internal static async Task<PrometheusExposition> ScrapeAsync(Uri endpoint)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return PrometheusExposition.Parse(await http.GetStringAsync(endpoint));
    }

    public async Task InitializeAsync()
    {
        _clock.Start();
        try
        {
            await StartAsync();
        }
        catch (Exception e)
        {
            // No test's output exists yet: the processes' last lines go with the failure.
            var lines = _cluster?.AnyLines(string.Empty) ?? [];
            throw new InvalidOperationException($"the metrics cluster did not come up: {e.Message}\n{string.Join('\n', _timeline)}\n{string.Join('\n', lines.TakeLast(80))}", e);
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _dir.Dispose();
    }

    private async Task StartAsync()
    {
        // The coordinator takes its metrics port from its settings (PEERDISTILL_<SECTION>__<KEY>), the workers from the flag.
        _cluster = await Cluster.StartAsync(_dir.Path, [], Output, coordinatorEnvironment: new Dictionary<string, string> { ["PEERDISTILL_COORDINATOR__TELEMETRY__METRICSPORT"] = "0" });
        _metrics["coordinator"] = await MetricsAddressAsync("coordinator");
        foreach (var worker in Workers)
        {
            _cluster.StartWorker(worker, 1, null, "--metrics-port", "0");
        }

        // The spare worker, started now to save its start-up later: its one slot is of a device no peer of
        // the training cohort asks for (slots are matched by name; the worker needs no GPU until a peer starts there).
        _cluster.StartWorker(Spare, 1, null, "--devices", SpareDevice);
        foreach (var worker in Workers.Append(Spare))
        {
            await _cluster.WaitForLineAsync(worker, "joined the cluster", 1, Patience);
        }

        foreach (var worker in Workers)
        {
            _metrics[worker] = await MetricsAddressAsync(worker);
        }

        Mark("coordinator and three workers up");

        // Thousands of short epochs (the tests end the run long before), evaluated at every epoch's end (the accuracy gauge).
        var spec = TestSpecs.Pair
            .Replace("epochs: 200", "epochs: 5000", StringComparison.Ordinal)
            .Replace("train_count: 2000", $"train_count: {StepsPerEpoch * 32}", StringComparison.Ordinal)
            .Replace("evaluation: {at_epoch_end: false}", "evaluation: {at_epoch_end: true}", StringComparison.Ordinal);
        Run = await SubmitAsync(spec);
        var request = new GetCohortRequest { Cohort = Cohort, Run = Run };
        var status = await _cluster.WaitForAsync(request, s => s.Peers.Count == 2 && s.Peers.All(p => p.State == PeerState.Active && p.Step > StepsPerEpoch + 5), Patience);
        Assert.Equal(Workers, status.Peers.Select(p => p.WorkerId).Order(StringComparer.Ordinal));
        Mark($"run {Run} trains past its first evaluation");

        // Paused and resumed: every peer placed again, as its second generation (a re-activation each).
        await SteerAsync(Cohort, Run, "pause");
        await SteerAsync(Cohort, Run, "resume");
        status = await _cluster.WaitForAsync(request, s => s.State == CohortState.Running && s.Peers.All(p => p.State == PeerState.Active && p.Generation == 2), Patience);
        Assert.Equal(Workers, status.Peers.Select(p => p.WorkerId).Order(StringComparer.Ordinal));
        Mark("paused and resumed: generation 2 of both peers active");

        await RefuseAsync(status);
        Mark("a stream without a ticket and a forged frame refused");

        // The spare worker, frozen, then a cohort whose peers ask for its device: the start of the first
        // fails once Orleans declares the frozen silo dead (seconds; more than the 10 s a submission waits
        // for its cohort's start on a loaded machine, when the submission is answered 503 while the
        // cohort's grain goes on). Then the worker is killed; that cohort waits for a slot of its device.
        _cluster.Signal(Spare, "STOP");
        var stranded = spec.Replace($"cohort: {Cohort}", $"cohort: {Stranded}", StringComparison.Ordinal)
            .Replace("seed: 1}", $"seed: 1, device: \"{SpareDevice}\"}}", StringComparison.Ordinal)
            .Replace("seed: 2}", $"seed: 2, device: \"{SpareDevice}\"}}", StringComparison.Ordinal);
        using (var http = _cluster.Http())
        {
            using var submitted = await http.PostAsync("api/v1/runs", new StringContent(stranded, Encoding.UTF8, "application/yaml"));
            Assert.True(submitted.StatusCode is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, $"{(int)submitted.StatusCode} {await submitted.Content.ReadAsStringAsync()}");
        }

        await WaitForAsync(CoordinatorMetrics, m => m.Samples.Any(s => s.Name == "peerdistill_placement_failures_total" && s.Labels.GetValueOrDefault("peerdistill_cohort") == Stranded && s.Value > 0), "placement failure of the stranded cohort");
        _cluster.Kill(Spare);
        Mark("a placement failure on the frozen worker");
    }

    /// <summary>
    /// At the worker of peer <c>a</c>: an exchange stream with no ticket (refused before a frame is
    /// read), then one with a genuine ticket of peer <c>b</c> (the cluster's key, as an operator has
    /// it) carrying a frame for a peer that worker does not host (the frame refused).
    /// </summary>
    private async Task RefuseAsync(CohortStatus status)
    {
        var learner = status.Peers.Single(p => p.Peer == "a");
        var teacher = status.Peers.Single(p => p.Peer == "b");
        using var channel = GrpcChannels.ForAddress(await _cluster!.WorkerAddressAsync(learner.WorkerId));
        var client = new PeerExchange.PeerExchangeClient(channel);
        using (var anonymous = client.Exchange(deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await anonymous.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }

        var key = await ClusterTickets.ReadKeyAsync(Path.Combine(_dir.Path, "data"), Patience);
        var ticket = new TicketCodec(key).Issue(Cohort, Run, teacher.Peer, teacher.Generation);
        using var call = client.Exchange(new Metadata { { ExchangeTicket.Header, ticket } }, DateTime.UtcNow.AddSeconds(30));
        await call.RequestStream.WriteAsync(new LogitsFrame
        {
            Cohort = Cohort,
            Run = Run,
            Sender = teacher.Peer,
            Receiver = "nobody",
            Generation = teacher.Generation,
            Step = teacher.Step,
            Shape = { 32, 10 },
            Dtype = WireDType.Fp32,
            Values = ByteString.CopyFrom(new byte[32 * 10 * sizeof(float)]),
        });
        Assert.True(await call.ResponseStream.MoveNext(), "no acknowledgement of the forged frame");
        var ack = call.ResponseStream.Current;
        Assert.False(ack.Accepted, "a frame for a peer the worker does not host was accepted");
        Assert.NotEqual(0, ack.RefusedCode);
        await call.RequestStream.CompleteAsync();
    }

    private async Task<string> SubmitAsync(string spec)
    {
        using var http = _cluster!.Http();
        using var created = await http.PostAsync("api/v1/runs", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, body);
        using var run = JsonDocument.Parse(body);
        return run.RootElement.GetProperty("run").GetString()!;
    }

    /// <summary>POSTs <paramref name="command"/> (pause, resume) to that run over REST.</summary>
    private async Task SteerAsync(string cohort, string run, string command)
    {
        using var http = _cluster!.Http($"api/v1/runs/{cohort}/{run}/");
        using var reply = await http.PostAsync(command, null);
        Assert.True(reply.StatusCode == HttpStatusCode.OK, $"{command} of {cohort}/{run}: {(int)reply.StatusCode} {await reply.Content.ReadAsStringAsync()}");
    }

    /// <summary>The scrape address <paramref name="who"/> printed (<c>metrics at http://host:port/metrics</c>).</summary>
    private async Task<Uri> MetricsAddressAsync(string who)
    {
        await _cluster!.WaitForLineAsync(who, "metrics at ", 1, Patience);
        return new Uri(MetricsLine().Match(_cluster.Lines(who, "metrics at ")[0]).Groups[1].Value);
    }

    /// <summary>Scrapes <paramref name="endpoint"/> until <paramref name="done"/> holds (at most <see cref="Patience"/>).</summary>
    private static async Task WaitForAsync(Uri endpoint, Func<PrometheusExposition, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!done(await ScrapeAsync(endpoint)))
        {
            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"{endpoint} exported no {what} in {Patience.TotalSeconds} s");
            }

            await Task.Delay(200);
        }
    }

    private void Mark(string what) => _timeline.Add($"{_clock.Elapsed.TotalSeconds,6:F1} s  {what}");

    [GeneratedRegex(@"metrics at (https?://\S+)")]
    private static partial Regex MetricsLine();
}
