using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Spec;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Top-k frames: the codec, the receiver's checks, hostile bytes, and the message-size limit.</summary>
public sealed class TopKFrameTests
{
    private const int Batch = 4;
    private const int Classes = 6;
    private const int K = 2;

    // Distinct logits per row (no ties), finite.
    private static readonly float[] Logits = Enumerable.Range(0, Batch * Classes).Select(i => (float)Math.Sin(i * 1.7) * 4).ToArray();

    private static ExchangeHub NewHub(RestMass rest = RestMass.Uniform, double maxAbs = 1e6)
    {
        var directory = new CohortDirectory();
        directory.Update([
            new PeerLocation("a", "http://w1", 1, PeerPresence.Active),
            new PeerLocation("b", "http://w2", 1, PeerPresence.Active),
        ]);
        var settings = new ExchangeSettings("co", "run1", Classes, _ => Batch, 100, WireDType.Topk, TimeSpan.FromSeconds(10), 1, Window: 8, MaxAbsLogit: maxAbs, TopK: K, TopKRest: rest);
        var hub = new ExchangeHub(settings, directory, NullLogger.Instance);
        hub.Host("a", 1, ["b"], startStep: 0);
        return hub;
    }

    private static LogitsFrame Frame(RestMass rest = RestMass.Uniform, float[]? logits = null)
    {
        var (values, indices) = WireCodec.EncodeTopK(logits ?? Logits, Classes, K);
        var frame = new LogitsFrame
        {
            Cohort = "co",
            Run = "run1",
            Sender = "b",
            Receiver = "a",
            Generation = 1,
            Step = 0,
            Dtype = WireDType.Topk,
            Topk = K,
            TopkRest = WireCodec.ToWire(rest),
            Values = values,
            Indices = indices,
        };
        frame.Shape.Add(Batch);
        frame.Shape.Add(Classes);
        return frame;
    }

    private static ByteString Floats(params float[] v) => ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));

    private static ByteString Bytes(params byte[] v) => ByteString.CopyFrom(v);

    [Theory]
    [InlineData(RestMass.Uniform)]
    [InlineData(RestMass.Drop)]
    public void GoodFrame_IsTaken_AsTheSameDenseRowsAsTheEmbeddedExchange(RestMass rest)
    {
        var hub = NewHub(rest);
        var frame = Frame(rest);
        Assert.Equal(Batch * K * 4, frame.Values.Length);
        Assert.Equal(Batch * K * 1, frame.Indices.Length);
        var verdict = hub.Deliver(frame, new object());
        Assert.True(verdict.Accepted, verdict.Reason);
        var got = Assert.Single(hub.Gather("a", 0, ["b"], CancellationToken.None));
        Assert.Equal(new LogitWireFormat(LogitEncoding.TopK, K, rest).Apply(Logits, Classes), got.Values);
        Assert.Equal(hub.Settings.Format, new LogitWireFormat(LogitEncoding.TopK, K, rest));
    }

    [Theory]
    [InlineData(256, 1)]
    [InlineData(257, 2)]
    [InlineData(65_536, 2)]
    [InlineData(65_537, 4)]
    public void Indices_TakeTheSmallestWidthThatHoldsTheLargestClass(int classes, int width)
    {
        Assert.Equal(width, WireCodec.IndexWidth(classes));
        var logits = new float[classes];
        logits[classes - 1] = 3;
        var (values, indices) = WireCodec.EncodeTopK(logits, classes, 1);
        Assert.Equal(width, indices.Length);
        Assert.Null(WireCodec.DecodeTopK(values.Span, indices.Span, 1, classes, 1, RestMass.Uniform, 1e6, out var dense));
        Assert.Equal(SparseLogits.RoundTrip(logits, classes, 1, RestMass.Uniform), dense);
    }

    [Fact]
    public void WideClassCounts_UseFourByteIndices()
    {
        const int classes = 70_000;
        var logits = new float[2 * classes];
        logits[69_999] = 5;
        logits[classes + 65_537] = 7;
        logits[classes + 3] = 6;
        var (values, indices) = WireCodec.EncodeTopK(logits, classes, 2);
        Assert.Equal(4, WireCodec.IndexWidth(classes));
        Assert.Equal(2 * 2 * 4, indices.Length);
        Assert.Null(WireCodec.DecodeTopK(values.Span, indices.Span, 2, classes, 2, RestMass.Drop, 1e6, out var dense));
        Assert.Equal(SparseLogits.RoundTrip(logits, classes, 2, RestMass.Drop), dense);
    }

    public static TheoryData<string, string> BadFrames => new()
    {
        { "wrong k", "carries topk 3; the cohort's exchange.topk is 2" },
        { "wrong rest", "topk_rest Drop; the cohort's exchange.topk_rest is Uniform" },
        { "unset rest", "topk_rest Unspecified" },
        { "short values", "bytes of values; expected 32" },
        { "short indices", "7 bytes of indices; expected 8" },
        { "no indices", "0 bytes of indices; expected 8" },
        { "index out of range", "class index 6 at row 1, outside [0, 6)" },
        { "repeated index", "class 4 twice in row 2" },
        { "nan", "a non-finite value (NaN) at row 0, entry 1" },
        { "infinity", "a non-finite value" },
        { "positive log-probability", "a positive log-probability (0.5) at row 3, entry 0" },
        { "beyond the bound", "beyond the cohort's bound of 100 (exchange.max_abs_logit)" },
        { "mass above one", "probabilities summing to 1.6 in row 0" },
        { "dense values", "bytes of values; expected 32" },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void BadTopKFrame_IsRefusedWithInvalidArgument_AndTheGoodOneIsStillTaken(string kind, string reason)
    {
        var hub = NewHub(maxAbs: 100);
        var f = Frame();
        float[] v = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.Values.Span).ToArray();
        byte[] idx = f.Indices.ToByteArray();
        switch (kind)
        {
            case "wrong k": f.Topk = 3; break;
            case "wrong rest": f.TopkRest = TopKRest.Drop; break;
            case "unset rest": f.TopkRest = TopKRest.Unspecified; break;
            case "short values": f.Values = ByteString.CopyFrom(f.Values.Span[..^4]); break;
            case "short indices": f.Indices = ByteString.CopyFrom(f.Indices.Span[..^1]); break;
            case "no indices": f.Indices = ByteString.Empty; break;
            case "index out of range": idx[3] = Classes; f.Indices = Bytes(idx); break;
            case "repeated index": idx[4] = 4; idx[5] = 4; f.Indices = Bytes(idx); break;
            case "nan": v[1] = float.NaN; f.Values = Floats(v); break;
            case "infinity": v[7] = float.NegativeInfinity; f.Values = Floats(v); break;
            case "positive log-probability": v[6] = 0.5f; f.Values = Floats(v); break;
            case "beyond the bound": v[2] = -150f; f.Values = Floats(v); break;
            case "mass above one": v[0] = MathF.Log(0.8f); v[1] = MathF.Log(0.8f); f.Values = Floats(v); break;
            case "dense values": f.Values = WireCodec.Encode(Logits, WireDType.Fp32); break;
            default: throw new ArgumentException(kind);
        }

        var verdict = hub.Deliver(f, new object());
        Assert.False(verdict.Accepted);
        Assert.Equal(StatusCode.InvalidArgument, verdict.Code);
        Assert.Contains(reason, verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("'b'", verdict.Reason, StringComparison.Ordinal);

        // The refused frame left no trace.
        Assert.True(hub.Deliver(Frame(), new object()).Accepted);
        Assert.Single(hub.Gather("a", 0, ["b"], CancellationToken.None));
    }

    [Fact]
    public void GarbageBytes_AreRefusedOrTakenAsFiniteRows_NeverThrow()
    {
        var random = new Random(7);
        var accepted = 0;
        for (var i = 0; i < 2000; i++)
        {
            var hub = NewHub(i % 2 == 0 ? RestMass.Uniform : RestMass.Drop);
            var f = Frame(i % 2 == 0 ? RestMass.Uniform : RestMass.Drop);
            // Right lengths most of the time (so that the entry checks are reached), random lengths otherwise.
            var valueBytes = new byte[random.Next(4) == 0 ? random.Next(64) : Batch * K * 4];
            var indexBytes = new byte[random.Next(4) == 0 ? random.Next(32) : Batch * K];
            random.NextBytes(valueBytes);
            random.NextBytes(indexBytes);
            if (random.Next(2) == 0)
            {
                // Plausible entries: small negative values, indices below the class count.
                var v = Enumerable.Range(0, Batch * K).Select(_ => (float)(-random.NextDouble() * 5)).ToArray();
                valueBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
                indexBytes = Enumerable.Range(0, Batch * K).Select(_ => (byte)random.Next(Classes + 1)).ToArray();
            }

            f.Values = ByteString.CopyFrom(valueBytes);
            f.Indices = ByteString.CopyFrom(indexBytes);
            var verdict = hub.Deliver(f, new object());
            if (verdict.Accepted)
            {
                accepted++;
                var rows = Assert.Single(hub.Gather("a", 0, ["b"], CancellationToken.None)).Values;
                Assert.Equal(Batch * Classes, rows.Length);
                Assert.All(rows, x => Assert.True(float.IsFinite(x) && x <= 0 && x >= SparseLogits.Floor, $"reconstructed {x}"));
            }
            else
            {
                Assert.Equal(StatusCode.InvalidArgument, verdict.Code);
            }
        }

        // Some plausible frames pass (so the accepted branch was exercised), most garbage does not.
        Assert.InRange(accepted, 1, 1999);
    }

    [Fact]
    public void DenseFp32FramesAboveTheGrpcLimit_AreNamedWithTheFieldsThatDecideIt()
    {
        const int limit = GrpcServiceHostOptions.DefaultMaxReceiveMessageSize;
        var problem = WireCodec.TooLarge(128, 10_000, LogitWireFormat.Fp32, limit);
        Assert.NotNull(problem);
        Assert.StartsWith("exchange.wire_dtype:", problem, StringComparison.Ordinal);
        Assert.Contains("data.batch_size 128 x 10000 classes as fp32 carries 5,120,000 bytes", problem, StringComparison.Ordinal);
        Assert.Contains("use exchange.wire_dtype fp16 or topk", problem, StringComparison.Ordinal);
        Assert.Null(WireCodec.TooLarge(128, 10_000, new LogitWireFormat(LogitEncoding.Fp16), limit));
        Assert.Null(WireCodec.TooLarge(128, 10_000, new LogitWireFormat(LogitEncoding.TopK, 128), limit));
        Assert.Null(WireCodec.TooLarge(128, 1000, LogitWireFormat.Fp32, limit));
        Assert.Equal(128 * 32 * 6, WireCodec.PayloadBytes(128, 10_000, new LogitWireFormat(LogitEncoding.TopK, 32)));
    }

    [Fact]
    public void WorkerSettings_RefuseACohortWhoseFramesExceedTheGrpcLimit()
    {
        var yaml = """
            cohort: wide
            peers:
              - {name: a, model: mlp, model_options: {widths: [16]}}
              - {name: b, model: mlp, model_options: {widths: [16]}}
            data:
              dataset: synthetic
              batch_size: 128
              synthetic: {train_count: 256, test_count: 16, classes: 10000}
            """;
        var spec = SpecLoader.Parse(yaml, "wide.yaml").Spec!;
        var data = CohortData.Load(spec.Data);
        var e = Assert.Throws<ArgumentException>(() => ExchangeSettingsFactory.From(spec, data, "run1"));
        Assert.Contains("exchange.wire_dtype", e.Message, StringComparison.Ordinal);
        Assert.Contains("data.batch_size 128", e.Message, StringComparison.Ordinal);

        var sparse = spec with { Exchange = spec.Exchange with { WireDType = ExchangeSpec.WireTopK, TopK = 32 } };
        var settings = ExchangeSettingsFactory.From(sparse, data, "run1");
        Assert.Equal((WireDType.Topk, 32, RestMass.Uniform), (settings.WireDType, settings.TopK, settings.TopKRest));
    }
}
