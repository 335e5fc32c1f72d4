using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PeerDistill.Tests.Shared.Otlp;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Trace;
using PeerDistill.Tests.Shared.Otlp.Proto.Common;
using PeerDistill.Tests.Shared.Otlp.Proto.Trace;
using Xunit;
using Xunit.Abstractions;
using WireResource = PeerDistill.Tests.Shared.Otlp.Proto.Resource.Resource;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// The test suite's OTLP receiver (tests/Shared/Otlp) against the real OpenTelemetry SDK and its OTLP
/// exporter, configured the way a process is (OTEL_EXPORTER_OTLP_* from the receiver's environment),
/// over OTLP/gRPC and OTLP/HTTP: every field the receiver offers reads back what was sent.
/// </summary>
public sealed class OtlpReceiverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task RealExporter_SpansAndMetrics_ReadBackFieldForField(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync(output.WriteLine);
        var name = $"PeerDistill.Tests.Otlp.{protocol}.{Guid.NewGuid():N}";
        var service = $"otlp-selftest-{protocol}".ToLowerInvariant();
        var instance = Guid.NewGuid().ToString("N");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(receiver.ExporterEnvironment(protocol).Select(e => KeyValuePair.Create(e.Key, (string?)e.Value))).Build();
        void DescribeService(ResourceBuilder resource) => resource.Clear()
            .AddService(service, serviceVersion: "0.9", serviceInstanceId: instance, autoGenerateServiceInstanceId: false)
            .AddTelemetrySdk()
            .AddAttributes([new("deployment.environment", "test"), new("host.rank", 3)]);

        using var source = new ActivitySource(name, "1.2.3");
        using var meter = new Meter(name, "4.5.6");
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .ConfigureServices(s => s.AddSingleton<IConfiguration>(configuration))
            .ConfigureResource(DescribeService)
            .AddSource(name)
            .AddOtlpExporter()
            .Build();
        using var metering = Sdk.CreateMeterProviderBuilder()
            .ConfigureServices(s => s.AddSingleton<IConfiguration>(configuration))
            .ConfigureResource(DescribeService)
            .AddMeter(name)
            .AddOtlpExporter()
            .Build();

        // A publish span in a trace of its own, then a step whose child waits on it through a link.
        Activity publish;
        using (publish = source.StartActivity("publish", ActivityKind.Producer)!)
        {
            publish.SetTag("peer", "b");
        }

        Activity step;
        Activity wait;
        using (step = source.StartActivity("step", ActivityKind.Server)!)
        {
            step.SetTag("step", 7).SetTag("loss", 0.25).SetTag("synchronous", true).SetTag("peers", new[] { "a", "b" });
            var toPublish = new ActivityLink(publish.Context, new ActivityTagsCollection { ["teacher"] = "b", ["staleness"] = 1 });
            using (wait = source.StartActivity("exchange.wait", ActivityKind.Client, parentContext: default, links: [toPublish])!)
            {
                wait.AddEvent(new ActivityEvent("frame", tags: new ActivityTagsCollection { ["bytes"] = 1024 }));
                wait.SetStatus(ActivityStatusCode.Error, "teacher late");
            }
        }

        var steps = meter.CreateCounter<long>("selftest.steps", "{step}", "steps taken");
        steps.Add(3, new KeyValuePair<string, object?>("peer", "a"));
        steps.Add(4, new KeyValuePair<string, object?>("peer", "a"));
        steps.Add(5, new KeyValuePair<string, object?>("peer", "b"));
        var waits = meter.CreateHistogram<double>("selftest.wait", "ms", "time waited for teachers");
        foreach (var ms in new[] { 1.5, 2.5, 10.0 })
        {
            waits.Record(ms, new KeyValuePair<string, object?>("peer", "a"));
        }

        meter.CreateObservableGauge("selftest.queue", () => new Measurement<double>(42.5, new KeyValuePair<string, object?>("queue", "frames")), "{frame}", "frames queued");

        // No flush: the environment's short intervals bring everything, and the waits end when it has come.
        var spans = await receiver.WaitForSpansAsync(s => s.Count(x => x.ScopeName == name) == 3, Patience, "the three spans");
        var metrics = await receiver.WaitForMetricsAsync(
            m => new[] { "selftest.steps", "selftest.wait", "selftest.queue" }.All(n => m.Any(x => x.ScopeName == name && x.Name == n)),
            Patience,
            "the counter, the histogram and the gauge");

        var received = spans.ToDictionary(s => s.Name);
        Assert.Equal(["exchange.wait", "publish", "step"], received.Keys.Order());
        foreach (var (sent, got) in new[] { (publish, received["publish"]), (step, received["step"]), (wait, received["exchange.wait"]) })
        {
            Assert.Equal(sent.TraceId.ToHexString(), got.TraceId);
            Assert.Equal(sent.SpanId.ToHexString(), got.SpanId);
            Assert.Equal(sent.Kind, got.Kind);
            Assert.Equal(new DateTimeOffset(sent.StartTimeUtc), got.Start);
            Assert.Equal(new DateTimeOffset(sent.StartTimeUtc + sent.Duration), got.End);
            Assert.Equal(sent.Duration, got.Duration);
            Assert.Equal(name, got.ScopeName);
            Assert.Equal("1.2.3", got.ScopeVersion);
            Assert.Equal(protocol, got.Protocol);
            Assert.Equal(service, got.ServiceName);
            Assert.Equal(instance, got.ServiceInstanceId);
            AssertResource(got.Resource, service, instance);
        }

        var (publishSpan, stepSpan, waitSpan) = (received["publish"], received["step"], received["exchange.wait"]);
        Assert.Null(publishSpan.ParentSpanId);
        Assert.Null(stepSpan.ParentSpanId);
        Assert.Equal(stepSpan.SpanId, waitSpan.ParentSpanId);
        Assert.Equal(stepSpan.TraceId, waitSpan.TraceId);
        Assert.NotEqual(publishSpan.TraceId, stepSpan.TraceId);
        Assert.Equal("b", publishSpan.Attributes["peer"]);

        Assert.Equal(7L, stepSpan.Attributes["step"]);
        Assert.Equal(0.25, stepSpan.Attributes["loss"]);
        Assert.Equal(true, stepSpan.Attributes["synchronous"]);
        Assert.Equal(["a", "b"], Assert.IsAssignableFrom<IReadOnlyList<object?>>(stepSpan.Attributes["peers"]));
        Assert.Equal(ActivityStatusCode.Unset, stepSpan.Status);
        Assert.Empty(stepSpan.Links);
        Assert.Empty(stepSpan.Events);

        var link = Assert.Single(waitSpan.Links);
        Assert.Equal(publishSpan.TraceId, link.TraceId);
        Assert.Equal(publishSpan.SpanId, link.SpanId);
        Assert.Equal("b", link.Attributes["teacher"]);
        Assert.Equal(1L, link.Attributes["staleness"]);
        var frame = Assert.Single(waitSpan.Events);
        Assert.Equal("frame", frame.Name);
        Assert.Equal(1024L, frame.Attributes["bytes"]);
        Assert.Equal(wait.Events.Single().Timestamp, frame.Time);
        Assert.Equal(ActivityStatusCode.Error, waitSpan.Status);
        Assert.Equal("teacher late", waitSpan.StatusMessage);

        var counter = metrics.Last(m => m.Name == "selftest.steps");
        Assert.Equal(ReceivedMetricKind.Sum, counter.Kind);
        Assert.True(counter.IsMonotonic);
        Assert.Equal(ReceivedMetricTemporality.Cumulative, counter.Temporality);
        Assert.Equal("{step}", counter.Unit);
        Assert.Equal("steps taken", counter.Description);
        Assert.Equal(2, counter.Points.Count);
        var peerA = counter.Point(("peer", "a"))!;
        Assert.Equal(7, peerA.Value);
        Assert.True(peerA.IsInteger);
        Assert.NotNull(peerA.Start);
        Assert.True(peerA.Time >= peerA.Start);
        Assert.Equal(5, counter.Point(("peer", "b"))!.Value);
        Assert.Null(peerA.Count);

        var histogram = metrics.Last(m => m.Name == "selftest.wait");
        Assert.Equal(ReceivedMetricKind.Histogram, histogram.Kind);
        Assert.False(histogram.IsMonotonic);
        Assert.Equal(ReceivedMetricTemporality.Cumulative, histogram.Temporality);
        Assert.Equal("ms", histogram.Unit);
        var distribution = Assert.Single(histogram.Points);
        Assert.Equal("a", distribution.Attributes["peer"]);
        Assert.Equal(3UL, distribution.Count);
        Assert.Equal(14.0, distribution.Sum);
        Assert.Equal(1.5, distribution.Min);
        Assert.Equal(10.0, distribution.Max);
        Assert.Null(distribution.Value);
        Assert.Equal(distribution.ExplicitBounds.Count + 1, distribution.BucketCounts.Count);
        Assert.Equal(3UL, distribution.BucketCounts.Aggregate(0UL, (a, b) => a + b));
        // The SDK's default bounds start 0, 5, 10: 1.5 and 2.5 in (0, 5], 10 in (5, 10].
        Assert.Equal([0.0, 5.0, 10.0], distribution.ExplicitBounds.Take(3));
        Assert.Equal([0UL, 2UL, 1UL], distribution.BucketCounts.Take(3));

        var gauge = metrics.Last(m => m.Name == "selftest.queue");
        Assert.Equal(ReceivedMetricKind.Gauge, gauge.Kind);
        Assert.Equal(ReceivedMetricTemporality.Unspecified, gauge.Temporality);
        Assert.Equal("{frame}", gauge.Unit);
        var queued = Assert.Single(gauge.Points);
        Assert.Equal(42.5, queued.Value);
        Assert.False(queued.IsInteger);
        Assert.Equal("frames", queued.Attributes["queue"]);

        foreach (var metric in new[] { counter, histogram, gauge })
        {
            Assert.Equal(name, metric.ScopeName);
            Assert.Equal("4.5.6", metric.ScopeVersion);
            Assert.Equal(protocol, metric.Protocol);
            Assert.Equal(service, metric.ServiceName);
            Assert.Equal(instance, metric.ServiceInstanceId);
            AssertResource(metric.Resource, service, instance);
        }

        Assert.Same(counter, await receiver.LatestMetricAsync("selftest.steps", service));
        Assert.All(await receiver.SpansAsync(service), s => Assert.Equal(service, s.ServiceName));
        Assert.Empty(await receiver.SpansAsync("no-such-service"));
        Assert.Empty(await receiver.MetricsAsync("no-such-service"));
        Assert.Empty(receiver.Rejections);
    }

    [Fact]
    public async Task WaitFor_WhatNeverComes_TimesOutNamingItAndWhatArrived()
    {
        await using var receiver = await OtlpReceiver.StartAsync(output.WriteLine);

        var nothing = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForSpansAsync(s => s.Count > 0, TimeSpan.FromMilliseconds(200), "the coordinator's step spans"));
        Assert.Contains("the coordinator's step spans", nothing.Message);
        Assert.Contains("no export request at all", nothing.Message);

        await PostAsync(receiver, Export("svc-x", "only-span"));
        var some = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForMetricAsync(m => m.Name == "never", TimeSpan.FromMilliseconds(200)));
        Assert.Contains("1 HttpProtobuf traces requests", some.Message);
        Assert.Contains("spans of svc-x: only-span x1", some.Message);
    }

    [Fact]
    public async Task HttpIngest_GzipAndNestedValues_DecodedAndJsonOrGarbageRefused()
    {
        await using var receiver = await OtlpReceiver.StartAsync(output.WriteLine);
        var request = Export("svc-gz", "zipped");
        var span = request.ResourceSpans[0].ScopeSpans[0].Spans[0];
        span.Attributes.Add(new KeyValue { Key = "nested", Value = new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "inner", Value = new AnyValue { IntValue = 5 } } } } } });
        span.Attributes.Add(new KeyValue { Key = "raw", Value = new AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 3) } });
        span.Kind = Span.Types.SpanKind.Unspecified;

        using (var zipped = new MemoryStream())
        {
            await using (var gzip = new GZipStream(zipped, CompressionLevel.Fastest, leaveOpen: true))
            {
                request.WriteTo(gzip);
            }

            using var content = new ByteArrayContent(zipped.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            content.Headers.ContentEncoding.Add("gzip");
            Assert.Equal(System.Net.HttpStatusCode.OK, (await Send(receiver, content)).StatusCode);
        }

        var got = Assert.Single(await receiver.SpansAsync("svc-gz"));
        Assert.Equal(ActivityKind.Internal, got.Kind);
        Assert.Equal(5L, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(got.Attributes["nested"])["inner"]);
        Assert.Equal(new byte[] { 1, 2, 3 }, got.Attributes["raw"]);
        Assert.Equal("0102030405060708090a0b0c0d0e0f10", got.TraceId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), got.Start);

        using (var json = new StringContent("{\"resourceSpans\":[]}", System.Text.Encoding.UTF8, "application/json"))
        {
            Assert.Equal(System.Net.HttpStatusCode.UnsupportedMediaType, (await Send(receiver, json)).StatusCode);
        }

        using (var garbage = new ByteArrayContent([0xFF, 0xFF, 0xFF, 0xFF]))
        {
            garbage.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await Send(receiver, garbage)).StatusCode);
        }

        Assert.Equal(2, receiver.Rejections.Count);
        Assert.Contains("http/json is not", receiver.Rejections[0]);
        Assert.Single(await receiver.SpansAsync());
    }

    [Fact]
    public async Task Dispose_StopsListeningOnBothPorts()
    {
        var receiver = await OtlpReceiver.StartAsync(output.WriteLine);
        var ports = new[] { receiver.OtlpGrpcEndpoint.Port, receiver.OtlpHttpEndpoint.Port };
        Assert.Equal("127.0.0.1", receiver.OtlpGrpcEndpoint.Host);
        Assert.Equal("127.0.0.1", receiver.OtlpHttpEndpoint.Host);
        Assert.NotEqual(ports[0], ports[1]);

        await receiver.DisposeAsync();
        await receiver.DisposeAsync();

        foreach (var port in ports)
        {
            using var client = new TcpClient();
            await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync("127.0.0.1", port));
        }
    }

    private static void AssertResource(IReadOnlyDictionary<string, object?> resource, string service, string instance)
    {
        Assert.Equal(service, resource["service.name"]);
        Assert.Equal("0.9", resource["service.version"]);
        Assert.Equal(instance, resource["service.instance.id"]);
        Assert.Equal("test", resource["deployment.environment"]);
        Assert.Equal(3L, resource["host.rank"]);
        Assert.Equal("opentelemetry", resource["telemetry.sdk.name"]);
        Assert.Equal("dotnet", resource["telemetry.sdk.language"]);
    }

    private static ExportTraceServiceRequest Export(string service, string spanName) => new()
    {
        ResourceSpans =
        {
            new ResourceSpans
            {
                Resource = new WireResource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } } } },
                ScopeSpans =
                {
                    new ScopeSpans
                    {
                        Scope = new InstrumentationScope { Name = "hand.made" },
                        Spans =
                        {
                            new Span
                            {
                                TraceId = ByteString.CopyFrom(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10")),
                                SpanId = ByteString.CopyFrom(Convert.FromHexString("1112131415161718")),
                                Name = spanName,
                                Kind = Span.Types.SpanKind.Server,
                                StartTimeUnixNano = 1_700_000_000_000_000_000UL,
                                EndTimeUnixNano = 1_700_000_001_000_000_000UL,
                            },
                        },
                    },
                },
            },
        },
    };

    private static async Task PostAsync(OtlpReceiver receiver, ExportTraceServiceRequest request)
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        (await Send(receiver, content)).EnsureSuccessStatusCode();
    }

    private static async Task<HttpResponseMessage> Send(OtlpReceiver receiver, HttpContent content)
    {
        using var http = new HttpClient();
        return await http.PostAsync(new Uri(receiver.OtlpHttpEndpoint, "/v1/traces"), content);
    }
}
