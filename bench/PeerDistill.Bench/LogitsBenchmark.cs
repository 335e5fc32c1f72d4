using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Bench;

/// <summary>
/// What the logits' wire form costs and saves, in one run: (1) per class count C and wire form
/// (fp32, fp16, top-k), the serialized LogitsFrame of one peer's step through the real codec, and
/// its encode + serialize + parse + check/decode time; (2) the time per training step of a 2-peer
/// DML cohort on the in-memory exchange (which applies the same transform); (3) the final test
/// accuracy of short DML runs on Fashion-MNIST and on a large-class synthetic set per wire form.
/// </summary>
internal static class LogitsBenchmark
{
    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var root = EngineBenchmark.FindRepoRoot();
        var report = a.String("report", Path.Combine(root, "bench", "reports", "logits.json"));
        var output = a.String("output", Path.Combine(root, "runs", "logits-bench"));
        var classCounts = a.Ints("classes", [10, 1000, 10000]);
        var ks = a.Ints("k", [8, 32, 128]);
        var batch = a.Int("batch", 128);
        var steps = a.Int("steps", 40);
        var reps = a.Int("codec-reps", 20);
        var fashionKs = a.Ints("fashion-k", [1, 2, 4, 8]);
        var fashionSubset = a.Int("fashion-subset", 12000);
        var largeClasses = a.Int("large-classes", 1000);
        var largeNoise = double.Parse(a.String("large-noise", "0.5"), CultureInfo.InvariantCulture);
        var accuracy = a.String("accuracy", "yes") != "no";
        var clock = Stopwatch.StartNew();
        var loads = new List<object> { new { at = "start", loadavg = LoadAverage() } };
        Console.WriteLine($"logits: C = {string.Join(", ", classCounts)}, batch {batch}, top-k k = {string.Join(", ", ks)}; load {LoadAverage()}");

        // (1) The codec.
        var wire = new List<WireRow>();
        foreach (var classes in classCounts)
        {
            foreach (var format in Forms(classes, ks))
            {
                var row = MeasureCodec(batch, classes, format, reps);
                wire.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  codec C={classes,5} {row.Wire,-9}: {row.FrameBytes,9:N0} B/frame ({row.ValuesBytes:N0} values + {row.IndicesBytes:N0} indices; packed-varint indices would be {row.VarintIndicesBytes:N0}), encode {row.EncodeMs:F3} ms, decode {row.DecodeMs:F3} ms{(row.OverGrpcLimit ? "; above the 4 MiB gRPC limit" : string.Empty)}"));
            }
        }

        loads.Add(new { at = "after codec", loadavg = LoadAverage() });

        // (2) Time per training step, in memory.
        var stepRows = new List<StepRow>();
        foreach (var classes in classCounts)
        {
            foreach (var format in Forms(classes, ks))
            {
                var row = MeasureSteps(classes, format, batch, steps, Path.Combine(output, "steps", $"c{classes}-{Name(format)}"));
                stepRows.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  steps C={classes,5} {row.Wire,-9}: {row.MsPerStep:F2} ms/step per peer (median {row.MedianMsPerStep:F2}), {steps} steps; load {row.LoadAverage}"));
            }
        }

        loads.Add(new { at = "after steps", loadavg = LoadAverage() });

        // (3) Accuracy.
        var accuracyRows = new List<AccuracyRow>();
        if (accuracy)
        {
            var fashionForms = new List<LogitWireFormat> { LogitWireFormat.Fp32, new(LogitEncoding.Fp16) };
            fashionForms.AddRange(fashionKs.Select(k => new LogitWireFormat(LogitEncoding.TopK, k)));
            fashionForms.Add(new LogitWireFormat(LogitEncoding.TopK, fashionKs.Max(), RestMass.Drop));
            foreach (var format in fashionForms)
            {
                accuracyRows.Add(Train("fashion-mnist", FashionSpec(format, fashionSubset), format, output));
            }

            loads.Add(new { at = "after fashion-mnist", loadavg = LoadAverage() });
            var largeForms = new List<LogitWireFormat> { LogitWireFormat.Fp32, new(LogitEncoding.Fp16) };
            largeForms.AddRange(ks.Where(k => k < largeClasses).Select(k => new LogitWireFormat(LogitEncoding.TopK, k)));
            largeForms.Add(new LogitWireFormat(LogitEncoding.TopK, ks.Min(), RestMass.Drop));
            foreach (var format in largeForms)
            {
                accuracyRows.Add(Train($"synthetic-{largeClasses}", LargeSpec(format, largeClasses, largeNoise), format, output));
            }

            loads.Add(new { at = "end", loadavg = LoadAverage() });
        }

        PrintTables(wire, stepRows, accuracyRows, batch);
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(
            new
            {
                benchmark = "logits",
                date = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
                machine = new { cores = Environment.ProcessorCount, loads },
                batch,
                wall_seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                method = new
                {
                    codec = $"one peer's frame of a step (batch {batch} x C random logits, N(0, 3^2)) built as GrpcLogitExchange builds it, serialized with Google.Protobuf; encode = wire transform + frame + ToByteArray, decode = Parser.ParseFrom + the receiver's checks and decode (ExchangeHub's path); median of {reps} repetitions after a warm-up",
                    steps = $"2 mlp peers (widths [128]), DML T=1, one thread each, in-memory exchange (same transform as the codec), synthetic data of C classes, {steps} steps of {batch}; ms per step = per peer, the mean interval between consecutive step records after the first",
                    accuracy = "2 mlp peers (widths [256] and [128]), adam, DML T=3 alpha 1, final test accuracy (mean of peers and each); same seeds for every wire form",
                },
                wire,
                steps = stepRows,
                accuracy = accuracyRows,
            },
            new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        Console.WriteLine($"report: {report} ({clock.Elapsed.TotalSeconds:F0} s)");
        return 0;
    }

    private static IEnumerable<LogitWireFormat> Forms(int classes, int[] ks)
    {
        yield return LogitWireFormat.Fp32;
        yield return new LogitWireFormat(LogitEncoding.Fp16);
        foreach (var k in ks.Where(k => k < classes))
        {
            yield return new LogitWireFormat(LogitEncoding.TopK, k);
        }
    }

    private static string Name(LogitWireFormat f) => f.Encoding switch
    {
        LogitEncoding.Fp32 => "fp32",
        LogitEncoding.Fp16 => "fp16",
        _ => f.Rest == RestMass.Drop ? $"topk{f.K}-drop" : $"topk{f.K}",
    };

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static WireRow MeasureCodec(int batch, int classes, LogitWireFormat format, int reps)
    {
        var random = new Random(classes);
        var logits = new float[batch * classes];
        for (var i = 0; i < logits.Length; i++)
        {
            // Box-Muller: N(0, 3^2), the spread of a trained classifier's logits.
            logits[i] = (float)(3 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        var settings = new ExchangeSettings("bench", "run-1", classes, _ => batch, 1000, WireCodec.DTypeOf(format), TimeSpan.FromSeconds(30), 1, MaxAbsLogit: 1e6, TopK: format.K, TopKRest: format.Rest);
        LogitsFrame Encode()
        {
            var frame = new LogitsFrame
            {
                Cohort = settings.Cohort,
                Run = settings.Run,
                Sender = "peer-a",
                Receiver = "peer-b",
                Generation = 1,
                Step = 123,
                Epoch = 0,
                BatchIndex = 123,
                Dtype = settings.WireDType,
                SentUnixNanos = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
            };
            frame.Shape.Add(batch);
            frame.Shape.Add(classes);
            if (format.Encoding == LogitEncoding.TopK)
            {
                (frame.Values, frame.Indices) = WireCodec.EncodeTopK(logits, classes, format.K);
                frame.Topk = (uint)format.K;
                frame.TopkRest = WireCodec.ToWire(format.Rest);
            }
            else
            {
                frame.Values = WireCodec.Encode(logits, settings.WireDType);
            }

            return frame;
        }

        float[] Decode(byte[] bytes)
        {
            var frame = LogitsFrame.Parser.ParseFrom(bytes);
            if (frame.Dtype == WireDType.Topk)
            {
                var problem = WireCodec.DecodeTopK(frame.Values.Span, frame.Indices.Span, batch, classes, format.K, format.Rest, settings.MaxAbsLogit, out var dense);
                return problem is null ? dense : throw new InvalidOperationException(problem);
            }

            var values = WireCodec.Decode(frame.Values.Span, frame.Dtype);
            return WireCodec.FirstOutside(values, settings.MaxAbsLogit) < 0 ? values : throw new InvalidOperationException("bad value");
        }

        var sample = Encode();
        var serialized = sample.ToByteArray();
        var decoded = Decode(serialized);
        var expected = format.Apply(logits, classes);
        if (!decoded.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException($"the codec and the in-memory transform disagree for C={classes} {Name(format)}");
        }

        var varint = 0L;
        if (format.Encoding == LogitEncoding.TopK)
        {
            var width = WireCodec.IndexWidth(classes);
            var idx = sample.Indices.Span;
            var total = 0L;
            for (var i = 0; i < idx.Length; i += width)
            {
                var c = width switch { 1 => idx[i], 2 => BitConverter.ToUInt16(idx.Slice(i, 2)), _ => BitConverter.ToUInt32(idx.Slice(i, 4)) };
                total += CodedOutputStream.ComputeUInt32Size(c);
            }

            // A packed repeated uint32 field: tag, length, varints.
            varint = 1 + CodedOutputStream.ComputeLengthSize((int)total) + total;
        }

        var encodeMs = new List<double>();
        var decodeMs = new List<double>();
        for (var r = 0; r < reps; r++)
        {
            var t = Stopwatch.GetTimestamp();
            var bytes = Encode().ToByteArray();
            encodeMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            t = Stopwatch.GetTimestamp();
            _ = Decode(bytes);
            decodeMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        return new WireRow(
            classes,
            Name(format),
            serialized.Length,
            serialized.Length + 5,
            sample.Values.Length,
            sample.Indices.Length,
            varint,
            Median(encodeMs),
            Median(decodeMs),
            WireCodec.TooLarge(batch, classes, format, GrpcServiceHostOptions.DefaultMaxReceiveMessageSize) is not null);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    private static ExchangeSpec Exchange(LogitWireFormat format) => new()
    {
        WireDType = format.Encoding switch { LogitEncoding.Fp32 => ExchangeSpec.WireFp32, LogitEncoding.Fp16 => ExchangeSpec.WireFp16, _ => ExchangeSpec.WireTopK },
        TopK = format.Encoding == LogitEncoding.TopK ? format.K : new ExchangeSpec().TopK,
        TopKRest = format.Rest == RestMass.Drop ? ExchangeSpec.RestDrop : ExchangeSpec.RestUniform,
    };

    private static CohortSpec Parse(string yaml, LogitWireFormat format)
    {
        var loaded = SpecLoader.Parse(yaml, "logits-bench.yaml");
        if (loaded.Spec is not { } spec)
        {
            throw new InvalidOperationException(string.Join("; ", loaded.Errors));
        }

        return spec with { Exchange = Exchange(format) };
    }

    private static CohortSpec StepSpec(int classes, LogitWireFormat format, int batch, int steps) => Parse(string.Create(CultureInfo.InvariantCulture, $"""
        cohort: logits-steps
        peers:
          - {"{"}name: a, model: mlp, model_options: {"{"}widths: [128]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 1, threads: 1{"}"}
          - {"{"}name: b, model: mlp, model_options: {"{"}widths: [128]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 2, threads: 1{"}"}
        distillation: {"{"}strategy: dml, temperature: 1, alpha: 1{"}"}
        data:
          dataset: synthetic
          batch_size: {batch}
          epochs: 1
          synthetic: {"{"}train_count: {batch * steps}, test_count: {batch}, noise: 0.5, classes: {classes}{"}"}
        evaluation: {"{"}at_epoch_end: false{"}"}
        checkpoints: {"{"}every_steps: 1000000, keep_last: 1{"}"}
        """), format);

    private static CohortSpec FashionSpec(LogitWireFormat format, int subset) => Parse(string.Create(CultureInfo.InvariantCulture, $"""
        cohort: logits-fashion
        peers:
          - {"{"}name: wide, model: mlp, model_options: {"{"}widths: [256]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 1, threads: 1{"}"}
          - {"{"}name: narrow, model: mlp, model_options: {"{"}widths: [128]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 2, threads: 1{"}"}
        distillation: {"{"}strategy: dml, temperature: 3, alpha: 1{"}"}
        data:
          dataset: fashion-mnist
          batch_size: 128
          epochs: 2
          train_subset: {subset}
        evaluation: {"{"}at_epoch_end: false{"}"}
        checkpoints: {"{"}every_steps: 1000000, keep_last: 1{"}"}
        """), format);

    private static CohortSpec LargeSpec(LogitWireFormat format, int classes, double noise) => Parse(string.Create(CultureInfo.InvariantCulture, $"""
        cohort: logits-large
        peers:
          - {"{"}name: wide, model: mlp, model_options: {"{"}widths: [256]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 1, threads: 1{"}"}
          - {"{"}name: narrow, model: mlp, model_options: {"{"}widths: [128]{"}"}, optimizer: {"{"}kind: adam, lr: 0.001{"}"}, seed: 2, threads: 1{"}"}
        distillation: {"{"}strategy: dml, temperature: 3, alpha: 1{"}"}
        data:
          dataset: synthetic
          batch_size: 128
          epochs: 2
          synthetic: {"{"}train_count: 30000, test_count: 5000, noise: {noise}, classes: {classes}{"}"}
        evaluation: {"{"}at_epoch_end: false{"}"}
        checkpoints: {"{"}every_steps: 1000000, keep_last: 1{"}"}
        """), format);

    private static StepRow MeasureSteps(int classes, LogitWireFormat format, int batch, int steps, string output)
    {
        var spec = StepSpec(classes, format, batch, steps);
        var observer = new StepClock();
        var result = CohortExperiment.Run(spec, new ExperimentOptions { Output = output }, observer, new StopControl());
        if (result.Distilled.Peers.Any(p => p.Status != Core.Runner.PeerStatus.Completed))
        {
            throw new InvalidOperationException($"C={classes} {Name(format)}: a peer did not complete: {string.Join(", ", result.Distilled.Peers.Select(p => $"{p.Peer} {p.Status} {p.Message}"))}");
        }

        var intervals = observer.Intervals();
        return new StepRow(classes, Name(format), intervals.Average(), Median(intervals), intervals.Count, LoadAverage());
    }

    private static AccuracyRow Train(string dataset, CohortSpec spec, LogitWireFormat format, string output)
    {
        var result = CohortExperiment.Run(spec, new ExperimentOptions { Output = Path.Combine(output, "accuracy", $"{dataset}-{Name(format)}") }, new StepClock(), new StopControl());
        var peers = result.Distilled.Peers.Select(p => p.TestAccuracy ?? double.NaN).ToArray();
        var row = new AccuracyRow(dataset, Name(format), peers.Average(), peers, result.Distilled.EnsembleAccuracy ?? double.NaN, Math.Round(result.WallSeconds, 1), LoadAverage());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  accuracy {dataset} {row.Wire,-11}: mean {row.MeanAccuracy:F4} [{string.Join(", ", peers.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}], ensemble {row.Ensemble:F4}, {row.WallSeconds:F0} s; load {row.LoadAverage}"));
        return row;
    }

    private static void PrintTables(List<WireRow> wire, List<StepRow> steps, List<AccuracyRow> accuracy, int batch)
    {
        Console.WriteLine();
        Console.WriteLine($"| C | wire | bytes/peer/step (frame) | vs fp32 | indices as packed varint | encode ms | decode ms | train step ms (in memory) |");
        Console.WriteLine("|---:|:---|---:|---:|---:|---:|---:|---:|");
        foreach (var w in wire)
        {
            var fp32 = wire.First(x => x.Classes == w.Classes && x.Wire == "fp32").FrameBytes;
            var step = steps.FirstOrDefault(s => s.Classes == w.Classes && s.Wire == w.Wire);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {w.Classes:N0} | {w.Wire} | {w.FrameBytes:N0}{(w.OverGrpcLimit ? " (over the 4 MiB gRPC limit)" : string.Empty)} | {(double)w.FrameBytes / fp32:P1} | {(w.VarintIndicesBytes > 0 ? $"{w.VarintIndicesBytes:N0} (vs {w.IndicesBytes:N0})" : "-")} | {w.EncodeMs:F3} | {w.DecodeMs:F3} | {(step is null ? "-" : step.MsPerStep.ToString("F2", CultureInfo.InvariantCulture))} |"));
        }

        if (accuracy.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("| data set | wire | test accuracy (mean of 2 peers) | peers | vs fp32 (points) | ensemble |");
            Console.WriteLine("|:---|:---|---:|:---|---:|---:|");
            foreach (var r in accuracy)
            {
                var fp32 = accuracy.First(x => x.Dataset == r.Dataset && x.Wire == "fp32").MeanAccuracy;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Dataset} | {r.Wire} | {r.MeanAccuracy:F4} | {string.Join(" / ", r.PeerAccuracies.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))} | {100 * (r.MeanAccuracy - fp32):+0.00;-0.00;0.00} | {r.Ensemble:F4} |"));
            }
        }

        Console.WriteLine($"(batch {batch}; bytes are one peer's serialized LogitsFrame to one learner per step; on gRPC each message adds a 5-byte length prefix and HTTP/2 framing)");
    }

    private sealed record WireRow(int Classes, string Wire, long FrameBytes, long GrpcMessageBytes, long ValuesBytes, long IndicesBytes, long VarintIndicesBytes, double EncodeMs, double DecodeMs, bool OverGrpcLimit);

    private sealed record StepRow(int Classes, string Wire, double MsPerStep, double MedianMsPerStep, int Intervals, string LoadAverage);

    private sealed record AccuracyRow(string Dataset, string Wire, double MeanAccuracy, double[] PeerAccuracies, double Ensemble, double WallSeconds, string LoadAverage);

    /// <summary>The interval between a peer's consecutive step records.</summary>
    private sealed class StepClock : ICohortObserver
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, List<long>> _at = new(StringComparer.Ordinal);

        public List<double> Intervals()
        {
            lock (_gate)
            {
                return _at.Values.SelectMany(t => t.Skip(1).Zip(t.Skip(2), (x, y) => Stopwatch.GetElapsedTime(x, y).TotalMilliseconds)).ToList();
            }
        }

        public void OnStep(StepRecord record)
        {
            lock (_gate)
            {
                if (!_at.TryGetValue(record.Peer, out var times))
                {
                    _at[record.Peer] = times = [];
                }

                times.Add(Stopwatch.GetTimestamp());
            }
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
            if (record.Kind is "failed")
            {
                Console.WriteLine($"  [{record.Run}] {record.Peer}: {record.Kind}: {record.Message}");
            }
        }
    }
}
