using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Metrics;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Trace;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// A real OTLP receiver for tests: it serves the OTLP collector services (traces and metrics) over
/// OTLP/gRPC and OTLP/HTTP (protobuf) on two loopback ports, keeps everything it receives, and lets a
/// test read it back as typed records and wait, without sleeping, until what it expects has arrived.
/// Point a process at it with <see cref="ExporterEnvironment"/> (OTEL_EXPORTER_OTLP_ENDPOINT and
/// OTEL_EXPORTER_OTLP_PROTOCOL, plus short export intervals). It runs inside the test process (Kestrel
/// on 127.0.0.1, ports chosen by the system), so it cannot outlive the test run; dispose it to stop
/// it. Logs (/v1/logs, LogsService) are not served. See docs/tests.md.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    /// <summary>The resource attribute that names the service.</summary>
    public const string ServiceNameAttribute = "service.name";

    /// <summary>The resource attribute that names the instance of the service.</summary>
    public const string ServiceInstanceIdAttribute = "service.instance.id";

    /// <summary>The span batch delay that <see cref="ExporterEnvironment"/> gives a sender (OTEL_BSP_SCHEDULE_DELAY, ms; the SDK's default is 5000).</summary>
    public const int SpanExportDelayMilliseconds = 200;

    /// <summary>The metric export interval that <see cref="ExporterEnvironment"/> gives a sender (OTEL_METRIC_EXPORT_INTERVAL, ms; the SDK's default is 60000).</summary>
    public const int MetricExportIntervalMilliseconds = 500;

    /// <summary>How long <see cref="StartAsync"/> waits for Kestrel to listen.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly OtlpStore _store;
    private int _disposed;

    private OtlpReceiver(WebApplication app, OtlpStore store, Uri grpc, Uri http)
    {
        _app = app;
        _store = store;
        OtlpGrpcEndpoint = grpc;
        OtlpHttpEndpoint = http;
    }

    /// <summary>The OTLP/gRPC endpoint (<c>http://127.0.0.1:PORT</c>, HTTP/2 cleartext): OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_PROTOCOL=grpc.</summary>
    public Uri OtlpGrpcEndpoint { get; }

    /// <summary>
    /// The OTLP/HTTP endpoint (<c>http://127.0.0.1:PORT</c>, HTTP/1.1): OTEL_EXPORTER_OTLP_ENDPOINT with
    /// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, to which the SDK appends /v1/traces and /v1/metrics.
    /// (An endpoint set in code, OtlpExporterOptions.Endpoint, is used as it is: give it the signal's path.)
    /// </summary>
    public Uri OtlpHttpEndpoint { get; }

    /// <summary>The requests refused so far (undecodable bodies, http/json, metrics without data), each with why.</summary>
    public IReadOnlyList<string> Rejections => _store.Rejections;

    /// <summary>
    /// Starts a receiver on two free loopback ports and returns once both listen.
    /// <paramref name="log"/> (for example <c>ITestOutputHelper.WriteLine</c>) hears the first export
    /// of each transport and signal and every refused request; a log that throws (a test's output
    /// after the test ended) is ignored.
    /// </summary>
    public static async Task<OtlpReceiver> StartAsync(Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var store = new OtlpStore(line => Log(log, line));
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OtlpReceiver).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        ListenOptions? grpc = null;
        ListenOptions? http = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            // Cleartext serves HTTP/1.1 or HTTP/2, not both: gRPC on one port, OTLP/HTTP on the other.
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                grpc = listen;
            });
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                http = listen;
            });
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(store);

        var app = builder.Build();
        app.MapGrpcService<OtlpTraceService>();
        app.MapGrpcService<OtlpMetricsService>();
        app.MapPost(OtlpHttpIngest.TracesPath, context => OtlpHttpIngest.HandleAsync(
            context,
            ExportTraceServiceRequest.Parser,
            request => store.Add(OtlpTranslation.Spans(request, OtlpProtocol.HttpProtobuf), OtlpProtocol.HttpProtobuf),
            new ExportTraceServiceResponse(),
            store));
        app.MapPost(OtlpHttpIngest.MetricsPath, context => OtlpHttpIngest.HandleAsync(
            context,
            ExportMetricsServiceRequest.Parser,
            request => store.Add(OtlpTranslation.Metrics(request, OtlpProtocol.HttpProtobuf, DateTimeOffset.UtcNow), OtlpProtocol.HttpProtobuf),
            new ExportMetricsServiceResponse(),
            store));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            await app.StartAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new InvalidOperationException($"The OTLP receiver (Kestrel on 127.0.0.1, OTLP/gRPC and OTLP/HTTP ports chosen by the system) could not start (it waits at most {StartTimeout.TotalSeconds:0} s): {e.Message}", e);
        }

        // Kestrel writes the bound port back into each ListenOptions.
        var receiver = new OtlpReceiver(app, store, Endpoint(grpc), Endpoint(http));
        Log(log, $"OTLP receiver: OTLP/gRPC on {receiver.OtlpGrpcEndpoint}, OTLP/HTTP on {receiver.OtlpHttpEndpoint}");
        return receiver;
    }

    /// <summary>The endpoint of <paramref name="protocol"/>.</summary>
    public Uri Endpoint(OtlpProtocol protocol) => protocol == OtlpProtocol.Grpc ? OtlpGrpcEndpoint : OtlpHttpEndpoint;

    /// <summary>
    /// The environment that points an OpenTelemetry SDK at this receiver over <paramref name="protocol"/>:
    /// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (<c>grpc</c> or <c>http/protobuf</c>),
    /// and short export intervals so that data arrives within about a second instead of the SDK's
    /// defaults (spans batched for 5 s, metrics every 60 s): OTEL_BSP_SCHEDULE_DELAY =
    /// <see cref="SpanExportDelayMilliseconds"/>, OTEL_METRIC_EXPORT_INTERVAL = <see cref="MetricExportIntervalMilliseconds"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExporterEnvironment(OtlpProtocol protocol) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint(protocol).GetLeftPart(UriPartial.Authority),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol == OtlpProtocol.Grpc ? "grpc" : "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = SpanExportDelayMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["OTEL_METRIC_EXPORT_INTERVAL"] = MetricExportIntervalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The spans received so far, in arrival order; of one service (service.name) only when <paramref name="service"/> is given.</summary>
    public Task<IReadOnlyList<ReceivedSpan>> SpansAsync(string? service = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(OfService(_store.Spans, service, s => s.ServiceName));
    }

    /// <summary>
    /// The metrics received so far, one per instrument per export, in arrival order; of one service
    /// (service.name) only when <paramref name="service"/> is given. With cumulative temporality (the
    /// .NET default) the last of a name holds the totals: see <see cref="LatestMetricAsync"/>.
    /// </summary>
    public Task<IReadOnlyList<ReceivedMetric>> MetricsAsync(string? service = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(OfService(_store.Metrics, service, m => m.ServiceName));
    }

    /// <summary>The newest metric named <paramref name="name"/> (of <paramref name="service"/> when given), or null when none arrived yet.</summary>
    public async Task<ReceivedMetric?> LatestMetricAsync(string name, string? service = null, CancellationToken cancellationToken = default) =>
        (await MetricsAsync(service, cancellationToken).ConfigureAwait(false)).LastOrDefault(m => m.Name == name);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the spans received (all of them, every
    /// service), checking at once and after every export; returns the spans it held for. On timeout
    /// throws a <see cref="TimeoutException"/> that names <paramref name="description"/> and what did arrive.
    /// </summary>
    public Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> condition, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default) =>
        _store.WaitAsync(() => _store.Spans, condition, timeout, description ?? "the spans waited for", cancellationToken);

    /// <summary>Waits for the first span that matches <paramref name="match"/> (see <see cref="WaitForSpansAsync"/>) and returns it.</summary>
    public async Task<ReceivedSpan> WaitForSpanAsync(Func<ReceivedSpan, bool> match, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default)
    {
        var spans = await WaitForSpansAsync(s => s.Any(match), timeout, description ?? "a span that matches", cancellationToken).ConfigureAwait(false);
        return spans.First(match);
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the metrics received (all of them, every
    /// service, every export), checking at once and after every export; returns the metrics it held
    /// for. On timeout throws a <see cref="TimeoutException"/> that names <paramref name="description"/> and what did arrive.
    /// </summary>
    public Task<IReadOnlyList<ReceivedMetric>> WaitForMetricsAsync(Func<IReadOnlyList<ReceivedMetric>, bool> condition, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default) =>
        _store.WaitAsync(() => _store.Metrics, condition, timeout, description ?? "the metrics waited for", cancellationToken);

    /// <summary>Waits for a metric that matches <paramref name="match"/> (see <see cref="WaitForMetricsAsync"/>) and returns the newest such.</summary>
    public async Task<ReceivedMetric> WaitForMetricAsync(Func<ReceivedMetric, bool> match, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default)
    {
        var metrics = await WaitForMetricsAsync(m => m.Any(match), timeout, description ?? "a metric that matches", cancellationToken).ConfigureAwait(false);
        return metrics.Last(match);
    }

    /// <summary>A summary of what arrived so far (requests per transport and signal, span and metric names per service, refusals).</summary>
    public string Describe() => _store.Describe();

    /// <summary>Stops listening (both ports) and releases the host.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static Uri Endpoint(ListenOptions? listen) =>
        listen?.IPEndPoint is { Port: > 0 } bound
            ? new Uri($"http://127.0.0.1:{bound.Port}")
            : throw new InvalidOperationException("The OTLP receiver started, but Kestrel did not report the port it bound.");

    private static IReadOnlyList<T> OfService<T>(IReadOnlyList<T> items, string? service, Func<T, string?> serviceOf) =>
        service is null ? items : [.. items.Where(i => serviceOf(i) == service)];

    private static void Log(Action<string>? log, string line)
    {
        try
        {
            log?.Invoke(line);
        }
        catch (InvalidOperationException)
        {
            // xunit's ITestOutputHelper throws once its test has ended; the receiver may still hear late exports.
        }
    }
}
