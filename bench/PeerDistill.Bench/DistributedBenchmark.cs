using Microsoft.AspNetCore.Builder;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerDistill.Api;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using PeerDistill.Cluster.Security;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Core.Telemetry;
using PeerDistill.Protocol.V1;
using PeerDistill.Tests.Shared.Otlp;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Bench;

/// <summary>
/// What going distributed costs: one 2-peer cnn DML cohort (one spec, given as YAML text), in
/// alternating rounds of one run:
/// - embedded: <see cref="CohortRunner"/> in this process, peers on their own threads, logits in memory;
/// - distributed: a <see cref="CoordinatorNode"/> (the primary Orleans silo + CohortService) and two
///   <see cref="WorkerNode"/>s (worker silos of one cpu slot each, each with its PeerExchange server) in
///   this process, silo-to-silo on 127.0.0.1, logits over Grpc.AspNetCore servers and Grpc.Net.Client
///   streams; the spec submitted through CohortService/Submit and followed through GetCohort until
///   COMPLETED; peers on their own threads (peer grains placed on the slots); cleartext, and an
///   exchange without tickets (the workers' internal switch for this baseline);
/// - distributed + mTLS + tickets: the same cluster with certificates made in this process
///   (<see cref="BenchCertificates"/>) on every endpoint, mutual TLS silo-to-silo and on the exchange,
///   and every exchange stream carrying a ticket the receiving worker checks;
/// - distributed + telemetry: the plain distributed cluster with traces and metrics exported over
///   OTLP/gRPC (OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL in each node's
///   configuration, nothing else: the SDK's and PeerDistill's defaults, every 100th step and steps
///   over 1 s traced, spans batched every 5 s, metrics every 60 s) to one real receiver
///   (<see cref="OtlpReceiver"/>) in this process for the whole bench run; a round whose receiver got
///   no span of its run from a worker fails. The three nodes and the receiver share this process, so
///   every span is recorded by the three nodes' tracer providers (one per node) and exported three
///   times, and the receiver's own requests are traced too: an upper bound of what one provider per
///   process costs;
/// - the distributed modes take turns in the order plain, secured, telemetry, rotated by one every
///   round (each goes first and last in turn), and each round's cluster is probed afterwards for what
///   it used;
/// - two step-loop modes that show where the time goes: the same peers stepped by
///   <see cref="PeerStepLoop"/> through a timed exchange, in memory and over gRPC (one
///   <see cref="GrpcLogitExchange"/> and hub per peer on its own Kestrel server, as in two workers,
///   without Orleans and coordinator).
/// The exchange figures (publish-to-ack latency, serialized frame bytes) of the distributed runs
/// are read from the exchange's instruments (<see cref="ExchangeMeasurements"/>, the same the metrics export).
/// The per-step time of a mode is the cohort's pace from the peers' step records: (elapsed at the
/// last step - elapsed at step W) / (last step - W) of the slower peer. Over the same steps, the CPU
/// time of every thread of this process is taken from /proc/self/task/*/schedstat.
/// <c>--modes</c> (embedded, distributed, secured, traced, loops; comma-separated, default all) runs some only.
/// </summary>
internal static class DistributedBenchmark
{
    /// <summary>gRPC length prefix (1 byte compressed flag + 4 bytes length) per message.</summary>
    private const int GrpcPrefixBytes = 5;

    /// <summary>HTTP/2 frame header per DATA frame (one DATA frame per message assumed).</summary>
    private const int Http2FrameHeaderBytes = 9;

    /// <summary>What distributed / embedded (ratio of the median rounds) is held to.</summary>
    private const double TargetRatio = 1.05;

    /// <summary>What distributed with mutual TLS and exchange tickets / distributed without (ratio of the median rounds) is held to.</summary>
    private const double SecuredTargetRatio = 1.02;

    /// <summary>What distributed with telemetry exported / distributed without (ratio of the median rounds) is held to.</summary>
    private const double TelemetryTargetRatio = 1.02;

    private const string Embedded = "embedded";
    private const string Distributed = "distributed";
    private const string Secured = "distributed + mTLS + tickets";
    private const string Traced = "distributed + telemetry";
    private const string LoopsInMemory = "loops in memory";
    private const string LoopsOverGrpc = "loops over gRPC";

    /// <summary>The coordinator's node name in a secured round's certificates (the workers': <see cref="WorkerId"/>).</summary>
    private const string CoordinatorNodeName = "coordinator";

    /// <summary>How long the receiver is waited for, once a traced round's nodes are stopped (and flushed), for a span of the run from a worker.</summary>
    private static readonly TimeSpan TelemetryPatience = TimeSpan.FromSeconds(15);

    private static readonly string[] Modes = [Embedded, Distributed, Secured, Traced, LoopsInMemory, LoopsOverGrpc];

    /// <summary>The modes that run a cluster, in the order of a round's first turn (see <see cref="DistributedOrder"/>).</summary>
    private static readonly string[] DistributedModes = [Distributed, Secured, Traced];

    /// <summary>The names <c>--modes</c> takes (comma-separated; default all of them) and the modes each runs.</summary>
    private static readonly Dictionary<string, string[]> ModeNames = new(StringComparer.Ordinal)
    {
        ["embedded"] = [Embedded],
        ["distributed"] = [Distributed],
        ["secured"] = [Secured],
        ["traced"] = [Traced],
        ["loops"] = [LoopsInMemory, LoopsOverGrpc],
    };

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var steps = a.Int("steps", 150);
        var warmup = a.Int("warmup", 20);
        var rounds = a.Int("rounds", 3);
        // Two full untimed rounds: with one round of 40 steps the tiered JIT was still compiling
        // Orleans' and gRPC's paths during the timed rounds (2.1 ms of CPU per step on 2 cores,
        // against 0.4 ms after two rounds of 150), which is start-up, not the per-step cost measured here.
        var warmupRounds = a.Int("warmup-rounds", 2);
        var warmupRoundSteps = a.Int("warmup-round-steps", 150);
        var logLevel = Enum.Parse<LogLevel>(a.String("log-level", "Warning"), ignoreCase: true);
        var report = a.String("report", Path.Combine(EngineBenchmark.FindRepoRoot(), "bench", "reports", "distributed.json"));
        var modeNames = a.String("modes", string.Join(',', ModeNames.Keys)).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (warmup < 1 || steps <= warmup + 1 || rounds < 1)
        {
            Console.Error.WriteLine($"need rounds >= 1 and 1 <= warmup < steps - 1, got rounds {rounds}, warmup {warmup}, steps {steps}");
            return 2;
        }

        var unknownModes = modeNames.Where(n => !ModeNames.ContainsKey(n)).ToList();
        if (modeNames.Length == 0 || unknownModes.Count > 0)
        {
            Console.Error.WriteLine($"--modes: {(unknownModes.Count > 0 ? $"'{string.Join(',', unknownModes)}' is not a mode" : "name at least one mode")} (comma-separated, of: {string.Join(", ", ModeNames.Keys)}; default all)");
            return 2;
        }

        var selected = modeNames.SelectMany(n => ModeNames[n]).ToHashSet(StringComparer.Ordinal);
        var modes = Modes.Where(selected.Contains).ToList();
        bool Has(string mode) => selected.Contains(mode);

        // The nodes read the environment too: an endpoint there would trace the modes without telemetry.
        var inherited = TelemetryHosting.OtlpEndpointVariables.Where(v => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v))).ToList();
        if (inherited.Count > 0)
        {
            Console.Error.WriteLine($"unset {string.Join(", ", inherited)}: every cluster of this bench would export telemetry, not only the traced mode's");
            return 2;
        }

        var fashion = FashionMnist.IsAvailable();
        var specText = SpecText(steps, fashion);
        var loaded = SpecLoader.Parse(specText, "bench-distributed.yaml");
        if (loaded.Spec is not { } spec)
        {
            Console.Error.WriteLine($"the bench spec is invalid: {string.Join("; ", loaded.Errors)}");
            return 1;
        }

        var data = CohortData.Load(spec.Data);
        if (data.TotalSteps != steps)
        {
            Console.Error.WriteLine($"the spec gives {data.TotalSteps} steps, expected {steps}");
            return 1;
        }

        var peers = spec.Peers.Count;
        var names = spec.Peers.Select(p => p.Name).ToList();
        var batch = spec.Data.BatchSize;
        var classes = data.Classes;
        long parameters;
        using (var model = Model.Create(spec.Peers[0].Model, data.Shape, classes, spec.Peers[0].Seed, "cpu", spec.Peers[0].ModelOptions))
        {
            parameters = model.ParameterCount;
        }

        var loadBefore = LoadAverage();
        Console.WriteLine(Invariant($"distributed benchmark: {peers} x {spec.Peers[0].Model} ({parameters} parameters each), DML T={spec.Distillation.Temperature} alpha={spec.Distillation.Alpha}, ") + Invariant(
            $"{(fashion ? "Fashion-MNIST" : "synthetic data")} ({data.Train.Count} training images), batch {batch}, {steps} steps, pace over steps {warmup}..{steps - 1}, ") + Invariant(
            $"{rounds} alternating rounds (best and median) after {warmupRounds} untimed warm-up round(s), {Environment.ProcessorCount} cores, load average {loadBefore}"));
        Console.WriteLine(Invariant($"  sgd lr {spec.Peers[0].Optimizer.LearningRate} momentum {spec.Peers[0].Optimizer.Momentum} wd {spec.Peers[0].Optimizer.WeightDecay}; 1 intra-op thread per peer; ") +
            $"no evaluation during training; checkpoints only at the end; wire dtype {spec.Exchange.WireDType}");
        Console.WriteLine($"  modes: {string.Join(" | ", modes)}");
        if (Has(Embedded))
        {
            Console.WriteLine("  embedded:    CohortRunner in this process, each peer on its own thread, logits handed over in memory");
        }

        if (Has(Distributed) || Has(Secured))
        {
            Console.WriteLine("  distributed: CoordinatorNode (Orleans primary silo + CohortService, ports 0) + 2 WorkerNodes (worker silos, 1 cpu slot each, PeerExchange");
            Console.WriteLine("               servers), all in this one process on 127.0.0.1: Orleans 10.4.2 silo-to-silo, logits over Grpc.AspNetCore / Grpc.Net.Client streams;");
            Console.WriteLine("               spec submitted via CohortService/Submit, followed via GetCohort until COMPLETED; each peer on its own thread;");
            Console.WriteLine("               cleartext everywhere and no exchange tickets (the workers' internal switch for this baseline)");
        }

        if (Has(Secured))
        {
            Console.WriteLine("  distributed + mTLS + tickets: the same cluster with certificates of one in-process authority on every endpoint (mutual TLS");
            Console.WriteLine("               silo-to-silo and on the PeerExchange, TLS on the API) and every exchange stream carrying a ticket the receiving worker");
            Console.WriteLine("               checks");
        }

        if (Has(Traced))
        {
            Console.WriteLine("  distributed + telemetry: the plain cluster with OTEL_EXPORTER_OTLP_ENDPOINT (a real OTLP receiver in this process, one for the");
            Console.WriteLine("               whole run) and OTEL_EXPORTER_OTLP_PROTOCOL=grpc in each node's configuration, the defaults otherwise (every 100th step");
            Console.WriteLine("               and steps over 1 s traced, spans batched every 5 s, metrics every 60 s and at shutdown); one tracer provider per node,");
            Console.WriteLine("               all three in this process, so each span is exported three times and the receiver's requests are traced too");
            Console.WriteLine("               (an upper bound of one process per node)");
        }

        if (DistributedModes.Count(Has) > 1)
        {
            Console.WriteLine("  order:       the distributed modes in the order " + string.Join(", ", DistributedModes.Where(Has)) + ", rotated by one every round");
        }

        if (Has(LoopsInMemory))
        {
            Console.WriteLine("  loops:       the same peers in PeerStepLoops with a timed exchange, in memory and over gRPC (a GrpcLogitExchange + hub per peer, each");
            Console.WriteLine("               on its own Kestrel server on 127.0.0.1, no Orleans/coordinator; tickets on): where the time goes");
        }

        Console.WriteLine();

        // One authority and node certificates for every secured round, in a folder deleted at the end.
        using var certificates = Has(Secured) ? BenchCertificates.Create([CoordinatorNodeName, .. Enumerable.Range(0, peers).Select(WorkerId)]) : null;

        // One OTLP receiver for every traced round (the warm-up's too), from the start to the end of the bench.
        await using var receiver = Has(Traced) ? await OtlpReceiver.StartAsync() : null;

        var log = new CapturingLog(logLevel);
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(logLevel).AddProvider(log));
        if (warmupRounds > 0 && warmupRoundSteps > warmup + 1)
        {
            // Untimed: the first run of each mode JIT-compiles (and tier-1 recompiles) its code paths
            // while its peers step; a long-running worker pays that once, not per cohort.
            var warmText = SpecText(warmupRoundSteps, fashion);
            var warmSpec = SpecLoader.Parse(warmText, "bench-distributed-warmup.yaml").Spec!;
            var warmData = CohortData.Load(warmSpec.Data);
            var clock = Stopwatch.StartNew();
            for (var r = 0; r < warmupRounds; r++)
            {
                if (Has(Embedded))
                {
                    TimeEmbedded(warmSpec, warmData, warmup);
                }

                var run = StandInRun(warmSpec);
                foreach (var mode in DistributedOrder(r, Has))
                {
                    run = (await TimeDistributedAsync(warmText, warmSpec, warmupRoundSteps, warmup, log, logLevel, mode == Secured ? certificates : null, mode == Traced ? receiver : null)).Pace.Run;
                }

                if (Has(LoopsInMemory))
                {
                    await TimeLoopsAsync(warmSpec, warmData, run, warmup, grpc: false, loggers);
                    await TimeLoopsAsync(warmSpec, warmData, run, warmup, grpc: true, loggers);
                }
            }

            Console.WriteLine(Invariant($"warm-up: {warmupRounds} untimed round(s) of {modes.Count} mode(s), {warmupRoundSteps} steps each (JIT), {clock.Elapsed.TotalSeconds:F0} s"));
        }

        var embedded = new List<ModeResult>();
        var distributedRuns = DistributedModes.ToDictionary(k => k, _ => new List<DistributedResult>(), StringComparer.Ordinal);
        var memoryLoops = new List<LoopResult>();
        var grpcLoops = new List<LoopResult>();
        var orders = new List<IReadOnlyList<string>>();
        for (var r = 0; r < rounds; r++)
        {
            if (Has(Embedded))
            {
                embedded.Add(TimeEmbedded(spec, data, warmup));
            }

            // The distributed modes take turns going first (and last), so that none always follows the same one.
            var order = DistributedOrder(r, Has);
            orders.Add(order);
            var run = StandInRun(spec);
            foreach (var mode in order)
            {
                distributedRuns[mode].Add(await TimeDistributedAsync(specText, spec, steps, warmup, log, logLevel, mode == Secured ? certificates : null, mode == Traced ? receiver : null));
                run = distributedRuns[mode][^1].Pace.Run;
            }

            if (Has(LoopsInMemory))
            {
                memoryLoops.Add(await TimeLoopsAsync(spec, data, run, warmup, grpc: false, loggers));
                grpcLoops.Add(await TimeLoopsAsync(spec, data, run, warmup, grpc: true, loggers));
            }

            var parts = new List<string>();
            var plainPace = Has(Distributed) ? distributedRuns[Distributed][^1].Pace : null;
            if (Has(Embedded))
            {
                parts.Add(Invariant($"embedded {embedded[^1].MsPerStep:F2} ms/step"));
            }

            if (plainPace is not null)
            {
                parts.Add(Invariant($"distributed {plainPace.MsPerStep:F2} ms/step") + (Has(Embedded) ? Invariant($" ({plainPace.MsPerStep / embedded[^1].MsPerStep:F3}x)") : string.Empty));
            }

            if (Has(Secured))
            {
                var securedPace = distributedRuns[Secured][^1].Pace;
                parts.Add(Invariant($"mTLS + tickets {securedPace.MsPerStep:F2} ms/step") + (plainPace is not null ? Invariant($" ({securedPace.MsPerStep / plainPace.MsPerStep:F3}x plain)") : string.Empty));
            }

            if (Has(Traced))
            {
                var tracedPace = distributedRuns[Traced][^1].Pace;
                parts.Add(Invariant($"telemetry {tracedPace.MsPerStep:F2} ms/step") + (plainPace is not null ? Invariant($" ({tracedPace.MsPerStep / plainPace.MsPerStep:F3}x plain)") : string.Empty));
            }

            if (Has(LoopsInMemory))
            {
                parts.Add(Invariant($"loops: in memory {memoryLoops[^1].Pace.MsPerStep:F2}, over gRPC {grpcLoops[^1].Pace.MsPerStep:F2} ms/step ({grpcLoops[^1].Pace.MsPerStep / memoryLoops[^1].Pace.MsPerStep:F3}x)"));
            }

            var withoutTeacher = new List<int>();
            if (Has(Embedded))
            {
                withoutTeacher.Add(embedded[^1].StepsWithoutTeacher);
            }

            withoutTeacher.AddRange(DistributedModes.Where(Has).Select(k => distributedRuns[k][^1].Pace.StepsWithoutTeacher));
            if (Has(LoopsInMemory))
            {
                withoutTeacher.Add(memoryLoops[^1].Pace.StepsWithoutTeacher);
                withoutTeacher.Add(grpcLoops[^1].Pace.StepsWithoutTeacher);
            }

            Console.WriteLine(Invariant($"round {r + 1}: ") + string.Join("; ", parts) + Invariant($"; peer steps without a teacher {string.Join('/', withoutTeacher)}; load {LoadAverage()}"));
        }

        var all = new Dictionary<string, IReadOnlyList<ModeResult>>(StringComparer.Ordinal)
        {
            [Embedded] = embedded,
            [Distributed] = distributedRuns[Distributed].Select(x => x.Pace).ToList(),
            [Secured] = distributedRuns[Secured].Select(x => x.Pace).ToList(),
            [Traced] = distributedRuns[Traced].Select(x => x.Pace).ToList(),
            [LoopsInMemory] = memoryLoops.Select(l => l.Pace).ToList(),
            [LoopsOverGrpc] = grpcLoops.Select(l => l.Pace).ToList(),
        };

        // 1. Per-step time.
        Console.WriteLine();
        var distributed = all[Distributed];
        var secured = all[Secured];
        var traced = all[Traced];
        var e = Summary(embedded);
        var d = Summary(distributed);
        var s = Summary(secured);
        var t = Summary(traced);
        var m = Summary(all[LoopsInMemory]);
        var g = Summary(all[LoopsOverGrpc]);
        var roundRatios = distributed.Zip(embedded, (q, k) => q.MsPerStep / k.MsPerStep).ToList();
        var securedRatios = secured.Zip(distributed, (q, k) => q.MsPerStep / k.MsPerStep).ToList();
        var tracedRatios = traced.Zip(distributed, (q, k) => q.MsPerStep / k.MsPerStep).ToList();
        var loopRatios = grpcLoops.Zip(memoryLoops, (q, k) => q.Pace.MsPerStep / k.Pace.MsPerStep).ToList();
        var overEmbedded = Has(Embedded) && Has(Distributed);
        var overPlain = Has(Distributed) && Has(Secured);
        var tracedOverPlain = Has(Distributed) && Has(Traced);
        var bestRatio = d.Best / e.Best;
        var medianRatio = Median(roundRatios);
        var ratioOfMedians = d.Median / e.Median;
        var verdict = ratioOfMedians <= TargetRatio ? "met" : "NOT met";
        var securedBestRatio = s.Best / d.Best;
        var securedMedianRatio = Median(securedRatios);
        var securedRatioOfMedians = s.Median / d.Median;
        var securedVerdict = securedRatioOfMedians <= SecuredTargetRatio ? "met" : "NOT met";
        var tracedBestRatio = t.Best / d.Best;
        var tracedMedianRatio = Median(tracedRatios);
        var tracedRatioOfMedians = t.Median / d.Median;
        var tracedVerdict = tracedRatioOfMedians <= TelemetryTargetRatio ? "met" : "NOT met";
        var paced = new (string Mode, string Short, string Label)[]
        {
            (Embedded, "embedded", "embedded (CohortRunner)"),
            (Distributed, "distributed", "distributed (Orleans, 2 WorkerNodes)"),
            (Secured, "mTLS + tickets", "distributed + mTLS + exchange tickets"),
            (Traced, "telemetry", "distributed + telemetry (OTLP, sampled)"),
        }.Where(x => Has(x.Mode)).ToList();
        if (paced.Count > 0)
        {
            Console.WriteLine("1. per-step time (cohort pace: the slower peer)   best     median");
            foreach (var (mode, _, label) in paced)
            {
                var x = Summary(all[mode]);
                Console.WriteLine(Invariant($"   {label,-42} {x.Best,7:F2} ms {x.Median,7:F2} ms"));
            }

            if (overEmbedded)
            {
                Console.WriteLine(Invariant($"   distributed / embedded: {ratioOfMedians:F3}x median of each -> target (<= {TargetRatio:F2}x): {verdict}; ") +
                    Invariant($"{bestRatio:F3}x best of each; per round {Ratios(roundRatios)}, median of round ratios {medianRatio:F3}x"));
            }

            if (overPlain)
            {
                Console.WriteLine(Invariant($"   mTLS + tickets / plain distributed: {securedRatioOfMedians:F3}x median of each -> target (<= {SecuredTargetRatio:F2}x): {securedVerdict}; ") +
                    Invariant($"{securedBestRatio:F3}x best of each; per round {Ratios(securedRatios)}, median of round ratios {securedMedianRatio:F3}x"));
            }

            if (tracedOverPlain)
            {
                Console.WriteLine(Invariant($"   telemetry / plain distributed: {tracedRatioOfMedians:F3}x median of each -> target (<= {TelemetryTargetRatio:F2}x): {tracedVerdict}; ") +
                    Invariant($"{tracedBestRatio:F3}x best of each; per round {Ratios(tracedRatios)}, median of round ratios {tracedMedianRatio:F3}x"));
            }

            Console.WriteLine("   median single-step interval of the slower peer (median of rounds): " + string.Join(", ", paced.Select(x => Invariant($"{x.Short} {Median(all[x.Mode].Select(r => r.MedianStepMs).ToList()):F2} ms"))));
            Console.WriteLine("   wall from start (embedded) / from Submit (distributed) to the end, median: " + string.Join(", ", paced.Select(x => Invariant($"{x.Short} {Median(all[x.Mode].Select(r => r.WallSeconds).ToList()):F1} s"))));
        }

        // 2. Exchange latency, of the distributed runs (the worker nodes' SiloPeerHosts) and of the gRPC loops.
        var peerSteps = (double)steps * peers * rounds;
        var dx = ExchangeFigures.Of(distributedRuns[Distributed].Select(x => x.Statistics).ToList(), warmup, peerSteps);
        var sx = ExchangeFigures.Of(distributedRuns[Secured].Select(x => x.Statistics).ToList(), warmup, peerSteps);
        var tx = ExchangeFigures.Of(distributedRuns[Traced].Select(x => x.Statistics).ToList(), warmup, peerSteps);
        var gx = ExchangeFigures.Of(grpcLoops.Where(l => l.Statistics is not null).Select(l => l.Statistics!).ToList(), warmup, peerSteps);
        var exchanges = new (string Mode, string Label, ExchangeFigures X)[]
        {
            (Distributed, "distributed (WorkerNodes' SiloPeerHost)", dx),
            (Secured, "mTLS + tickets (WorkerNodes' SiloPeerHost)", sx),
            (Traced, "telemetry (WorkerNodes' SiloPeerHost)", tx),
            (LoopsOverGrpc, "gRPC loops (no Orleans)", gx),
        }.Where(x => Has(x.Mode)).ToList();
        var expectedFrames = (long)steps * peers * (peers - 1) * rounds;
        var payload = (double)batch * classes * 4 * (peers - 1);
        var allReduce = 2.0 * (peers - 1) / peers * parameters * 4;
        var primary = exchanges.Select(x => x.X).FirstOrDefault(x => x.Frames > 0);
        if (exchanges.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("2. exchange latency per step, publish to ack (GrpcLogitExchange.Statistics), frames after step " + Invariant($"{warmup} of each link, {rounds} rounds:"));
            foreach (var (_, label, x) in exchanges)
            {
                Console.WriteLine(Invariant($"   {label,-42} p50 {x.P50:F3} ms, p99 {x.P99:F3} ms, mean {x.Mean:F3} ms, max {x.Max:F3} ms over {x.Latencies.Count} frames ") +
                    Invariant($"(all {x.AllLatencies.Count} of {expectedFrames} expected: p50 {Percentile(x.AllLatencies, 0.50):F3} ms, p99 {Percentile(x.AllLatencies, 0.99):F3} ms); refused {x.Refused}"));
            }

            // 3. Bytes on the wire.
            Console.WriteLine();
            Console.WriteLine(Invariant($"3. bytes on the wire per peer per step ({rounds} x {steps} steps x {peers} peers; + gRPC prefix {GrpcPrefixBytes} B + HTTP/2 DATA frame header {Http2FrameHeaderBytes} B per frame; TLS records not counted):"));
            Console.WriteLine(Invariant($"   logits payload B x C x 4 x (N-1) = {batch} x {classes} x 4 x {peers - 1} = {payload:F0} B"));
            foreach (var (_, label, x) in exchanges)
            {
                var overheadOf = x.WirePerPeerStep / payload - 1;
                Console.WriteLine(Invariant($"   {label,-42} {x.Frames} frames, {x.Bytes} serialized LogitsFrame bytes: {x.FramePerPeerStep:F1} B serialized, {x.WirePerPeerStep:F1} B on the wire ") +
                    Invariant($"-> framing overhead {overheadOf * 100:F2}% (< 10%: {(overheadOf < 0.10 ? "met" : "NOT met")})"));
            }

            if (primary is not null)
            {
                Console.WriteLine(Invariant($"   ring all-reduce of the gradients: 2 x (N-1)/N x {parameters} parameters x 4 B = {allReduce:F0} B per peer per step = {allReduce / primary.WirePerPeerStep:F1}x the logits exchange"));
            }
        }

        // 4. Where a step's time goes in the loops.
        if (Has(LoopsInMemory))
        {
            Console.WriteLine();
            Console.WriteLine(Invariant($"4. a step of each peer in the loops, ms, means over steps {warmup + 1}..{steps - 1}, median of {rounds} rounds"));
            Console.WriteLine("   (wait: in Gather; publish: in Publish; rest: step - wait - publish; cpu: the peer thread on a CPU; runq: runnable, waiting for a CPU)");
            Console.WriteLine("                        pace | " + string.Join(" | ", names.Select(n => $"{n}: step   wait publish   rest    cpu   runq")));
            foreach (var (label, loops) in new[] { ("in memory", memoryLoops), ("over gRPC", grpcLoops) })
            {
                var cells = names.Select(n => Invariant(
                    $"{MedianOf(loops, n, b => b.StepMs),7:F2} {MedianOf(loops, n, b => b.WaitMs),6:F2} {MedianOf(loops, n, b => b.PublishMs),6:F3} {MedianOf(loops, n, b => b.RestMs),6:F2} {MedianCpu(loops, "peer-" + n, c => c.CpuMs),6:F2} {MedianCpu(loops, "peer-" + n, c => c.RunQueueMs),6:F2}"));
                Console.WriteLine(Invariant($"   {label,-17} {Median(loops.Select(l => l.Pace.MsPerStep).ToList()),7:F2} | ") + string.Join(" | ", cells));
            }

            Console.WriteLine(Invariant($"   over gRPC - in memory: pace {g.Median - m.Median:+0.00;-0.00} ms (median of round ratios {Median(loopRatios):F3}x); ") + string.Join("; ", names.Select(n => Invariant(
                $"{n}: wait {MedianOf(grpcLoops, n, b => b.WaitMs) - MedianOf(memoryLoops, n, b => b.WaitMs):+0.00;-0.00}, publish {MedianOf(grpcLoops, n, b => b.PublishMs) - MedianOf(memoryLoops, n, b => b.PublishMs):+0.000;-0.000}, rest {MedianOf(grpcLoops, n, b => b.RestMs) - MedianOf(memoryLoops, n, b => b.RestMs):+0.00;-0.00}"))));
        }

        // 5. CPU by thread over the timed steps.
        Console.WriteLine();
        Console.WriteLine("5. CPU of this process's threads over the timed steps, ms per step (kernel schedstat), median of rounds; 2 cores = 2 x pace available");
        var cpuSummary = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var mode in modes)
        {
            var windows = all[mode].Select(x => x.Cpu).ToList();
            var groups = windows.SelectMany(w => w.Keys).Distinct(StringComparer.Ordinal).ToList();
            var medians = groups.ToDictionary(k => k, k => Median(windows.Select(w => w.GetValueOrDefault(k)?.CpuMs ?? 0).ToList()), StringComparer.Ordinal);
            var peerCpu = Median(windows.Select(w => w.Where(kv => IsPeerThread(kv.Key)).Sum(kv => kv.Value.CpuMs)).ToList());
            var peerRunQueue = Median(windows.Select(w => w.Where(kv => IsPeerThread(kv.Key)).Sum(kv => kv.Value.RunQueueMs)).ToList());
            var others = Median(windows.Select(w => w.Where(kv => !IsPeerThread(kv.Key)).Sum(kv => kv.Value.CpuMs)).ToList());
            var pace = Median(all[mode].Select(x => x.MsPerStep).ToList());
            var top = medians.Where(kv => !IsPeerThread(kv.Key) && kv.Value >= 0.05).OrderByDescending(kv => kv.Value).Select(kv => Invariant($"{kv.Key} {kv.Value:F2}")).ToList();
            Console.WriteLine(Invariant($"   {mode,-29} pace {pace,6:F2}: peer threads {peerCpu,6:F2} (+ runq {peerRunQueue,5:F2}), other threads {others,5:F2}{(top.Any() ? ": " + string.Join(", ", top) : string.Empty)}"));
            cpuSummary[mode] = new { peer_threads_cpu_ms = peerCpu, peer_threads_runq_ms = peerRunQueue, other_threads_cpu_ms = others, by_thread_cpu_ms = medians, rounds = windows };
        }

        // What each distributed round's cluster was seen to use (checked as each round ended).
        var security = DistributedModes.Where(Has).ToDictionary(k => k, k => distributedRuns[k].Select(x => x.Security).ToList(), StringComparer.Ordinal);
        if (security.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("6. what the distributed rounds' clusters used, probed after each round (a round that did not use what its mode says fails the bench;");
            Console.WriteLine("   the exchange's 'carries no exchange ticket' warnings on the console are these probes'):");
            foreach (var (mode, seen) in security)
            {
                Console.WriteLine(Invariant($"   {mode,-29} {seen[0].Describe()}") + (seen.All(x => x.Describe() == seen[0].Describe()) ? Invariant($" (all {seen.Count} rounds)") : " (rounds differ: " + string.Join(" | ", seen.Select(x => x.Describe())) + ")"));
            }
        }

        // What the traced rounds exported, as the receiver got it (checked as each round ended).
        var exported = distributedRuns[Traced].Select(x => x.Telemetry!).ToList();
        if (receiver is not null)
        {
            Console.WriteLine();
            Console.WriteLine("7. what the traced rounds exported, as the OTLP receiver got it (a round whose receiver got no span of its run from a worker fails the bench):");
            for (var i = 0; i < exported.Count; i++)
            {
                Console.WriteLine(Invariant($"   round {i + 1}: {exported[i].Describe()}"));
            }

            Console.WriteLine($"   the receiver, over the whole bench (warm-up rounds included): {receiver.Describe()}");
        }

        var messages = log.Messages.ToList();
        var loadAfter = LoadAverage();
        Console.WriteLine();
        Console.WriteLine($"log messages at {logLevel} or above from coordinator/workers/exchange: {messages.Count}; load average after: {loadAfter}");
        foreach (var group in messages.GroupBy(w => w.Split(':')[0], StringComparer.Ordinal).OrderByDescending(x => x.Count()).Take(8))
        {
            Console.WriteLine($"  {group.Count(),5} x {group.First()}");
        }

        // 8. Report.
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(new
        {
            benchmark = "distributed",
            grpc = "official stack: Grpc.AspNetCore 2.85.0 (server), Grpc.Net.Client 2.85.0 (client), Google.Protobuf 3.36.2",
            cluster = "Microsoft Orleans 10.4.2: CoordinatorNode (primary silo) + WorkerNode silos, peer grains on slots",
            modes,
            setup = new
            {
                peers,
                model = spec.Peers[0].Model,
                parameters_per_peer = parameters,
                dataset = fashion ? "fashion-mnist" : "synthetic",
                training_images = data.Train.Count,
                batch,
                classes,
                steps,
                warmup,
                rounds,
                warmup_rounds = warmupRounds,
                warmup_round_steps = warmupRoundSteps,
                cores = Environment.ProcessorCount,
                threads_per_peer = spec.Peers[0].Threads,
                optimizer = "sgd lr 0.05 momentum 0.9 weight_decay 5e-4",
                distillation = "dml T=1 alpha=1 pairwise additive",
                wire_dtype = spec.Exchange.WireDType.ToString(),
                pace = "(elapsed_s at the last step - elapsed_s at step warmup) / (last - warmup), slower peer; elapsed_s rounded to ms as in metrics.jsonl",
                embedded = "CohortRunner in this process",
                distributed = "in-process CoordinatorNode (Orleans primary silo + CohortService, ports 0, OutputRoot a temp dir) + 2 WorkerNodes (worker silos, 1 cpu slot each, PeerExchange on Kestrel): Orleans 10.4.2 silo-to-silo and Grpc.AspNetCore / Grpc.Net.Client logit streams on 127.0.0.1; CohortService Submit + GetCohort polling until COMPLETED; a new cluster per round (start not timed); cleartext everywhere, exchange tickets off (WorkerOptions.ExchangeTicketsOff, internal)",
                distributed_mtls_tickets = "the same, with certificates of one authority made in this process (ClusterCertificates, ECDSA P-256, a temporary folder deleted at the end) on every endpoint: mutual TLS silo-to-silo and on the PeerExchange, TLS on both API ports; every exchange stream carries its ticket, checked by the receiving worker",
                distributed_telemetry = "the plain distributed cluster with OTEL_EXPORTER_OTLP_ENDPOINT (the gRPC endpoint of a real OTLP receiver in this process, one for the whole bench run) and OTEL_EXPORTER_OTLP_PROTOCOL=grpc added to each node's configuration, nothing else: every 100th step and steps over 1 s traced, spans batched every 5 s, metrics every 60 s and at shutdown; the three nodes' tracer providers and the receiver share this process, so each span is exported three times and the receiver's requests are traced too (an upper bound of one provider per process)",
                distributed_order = "the selected distributed modes in the order plain, secured, telemetry, rotated by one every round (round 1: that order); order per round in distributed_order_per_round",
                loops = "PeerStepLoop per peer thread with a timed ILogitExchange: InMemoryLogitExchange, or a GrpcLogitExchange + ExchangeHub per peer on its own Grpc.AspNetCore server (PeerExchangeService, tickets on, cleartext), no Orleans/coordinator",
                cpu = "per-thread /proc/self/task/*/schedstat between the first peer finishing step warmup and the first peer finishing the last step (distributed: metrics.jsonl polled every 100 ms)",
                load_average_before = loadBefore,
                load_average_after = loadAfter,
                spec = specText,
            },
            distributed_order_per_round = orders,
            ms_per_step = modes.ToDictionary(k => k, k => all[k].Select(x => x.MsPerStep)),
            median_step_interval_ms = modes.ToDictionary(k => k, k => all[k].Select(x => x.MedianStepMs)),
            wall_s = modes.ToDictionary(k => k, k => all[k].Select(x => x.WallSeconds)),
            steps_without_teacher = modes.ToDictionary(k => k, k => all[k].Select(x => x.StepsWithoutTeacher)),
            embedded_best = Maybe(Has(Embedded), e.Best),
            embedded_median = Maybe(Has(Embedded), e.Median),
            distributed_best = Maybe(Has(Distributed), d.Best),
            distributed_median = Maybe(Has(Distributed), d.Median),
            ratio_distributed_embedded_best = Maybe(overEmbedded, bestRatio),
            ratio_distributed_embedded_per_round = overEmbedded ? roundRatios : null,
            ratio_distributed_embedded_median_round = Maybe(overEmbedded, medianRatio),
            ratio_loops_grpc_memory_per_round = Has(LoopsInMemory) ? loopRatios : null,
            ratio_distributed_embedded_medians = Maybe(overEmbedded, ratioOfMedians),
            target_ratio_max = TargetRatio,
            target_ratio = overEmbedded ? verdict : "not measured",
            target_ratio_measure = "median distributed ms/step over rounds / median embedded ms/step over rounds",
            secured = new
            {
                what = "distributed with mutual TLS on every endpoint and exchange tickets checked, against distributed without either, alternating in one run",
                best = Maybe(Has(Secured), s.Best),
                median = Maybe(Has(Secured), s.Median),
                ratio_secured_plain_medians = Maybe(overPlain, securedRatioOfMedians),
                ratio_secured_plain_best = Maybe(overPlain, securedBestRatio),
                ratio_secured_plain_per_round = overPlain ? securedRatios : null,
                ratio_secured_plain_median_round = Maybe(overPlain, securedMedianRatio),
                target_ratio_max = SecuredTargetRatio,
                target_ratio = overPlain ? securedVerdict : "not measured",
                target_ratio_measure = "median mTLS + tickets ms/step over rounds / median plain distributed ms/step over rounds",
            },
            telemetry = new
            {
                what = "distributed with traces and metrics exported over OTLP/gRPC to a local receiver (default sampling), against distributed without, alternating in one run",
                best = Maybe(Has(Traced), t.Best),
                median = Maybe(Has(Traced), t.Median),
                ratio_telemetry_plain_medians = Maybe(tracedOverPlain, tracedRatioOfMedians),
                ratio_telemetry_plain_best = Maybe(tracedOverPlain, tracedBestRatio),
                ratio_telemetry_plain_per_round = tracedOverPlain ? tracedRatios : null,
                ratio_telemetry_plain_median_round = Maybe(tracedOverPlain, tracedMedianRatio),
                target_ratio_max = TelemetryTargetRatio,
                target_ratio = tracedOverPlain ? tracedVerdict : "not measured",
                target_ratio_measure = "median telemetry ms/step over rounds / median plain distributed ms/step over rounds",
                exported_per_round = Has(Traced) ? exported.Select(x => new
                {
                    run = x.Run,
                    worker_spans = x.WorkerSpans,
                    peer_activation_spans = x.Activations,
                    step_spans = x.Steps,
                    worker_instruments = x.WorkerInstruments,
                }) : null,
                receiver = receiver?.Describe(),
            },
            security = security.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => new
            {
                api_scheme = x.ApiScheme,
                rest_scheme = x.RestScheme,
                exchange_schemes = x.ExchangeSchemes,
                silo_tls = x.SiloTls,
                stream_without_ticket = x.StreamWithoutTicket,
                ticket_refusals_during_run = x.RefusalsDuringRun,
            })),
            exchange_latency = new
            {
                source = "the exchange's ack-latency instrument (publish to ack) of the distributed runs, read from the exchange's instruments (ExchangeMeasurements) for the run's whole length",
                expected_frames = expectedFrames,
                frames_after_warmup = Maybe(Has(Distributed), dx.Latencies.Count),
                p50_ms = Maybe(Has(Distributed), dx.P50),
                p99_ms = Maybe(Has(Distributed), dx.P99),
                mean_ms = Maybe(Has(Distributed), dx.Mean),
                max_ms = Maybe(Has(Distributed), dx.Max),
                all_frames = Maybe(Has(Distributed), dx.AllLatencies.Count),
                all_p50_ms = Maybe(Has(Distributed), Percentile(dx.AllLatencies, 0.50)),
                all_p99_ms = Maybe(Has(Distributed), Percentile(dx.AllLatencies, 0.99)),
                refused = Maybe(Has(Distributed), dx.Refused),
                telemetry = Has(Traced) ? new
                {
                    frames_after_warmup = tx.Latencies.Count,
                    p50_ms = tx.P50,
                    p99_ms = tx.P99,
                    mean_ms = tx.Mean,
                    max_ms = tx.Max,
                    all_frames = tx.AllLatencies.Count,
                    all_p50_ms = Percentile(tx.AllLatencies, 0.50),
                    all_p99_ms = Percentile(tx.AllLatencies, 0.99),
                    refused = tx.Refused,
                } : null,
                mtls_tickets = Has(Secured) ? new
                {
                    frames_after_warmup = sx.Latencies.Count,
                    p50_ms = sx.P50,
                    p99_ms = sx.P99,
                    mean_ms = sx.Mean,
                    max_ms = sx.Max,
                    all_frames = sx.AllLatencies.Count,
                    all_p50_ms = Percentile(sx.AllLatencies, 0.50),
                    all_p99_ms = Percentile(sx.AllLatencies, 0.99),
                    refused = sx.Refused,
                } : null,
                loops_over_grpc = Has(LoopsOverGrpc) ? new
                {
                    frames_after_warmup = gx.Latencies.Count,
                    p50_ms = gx.P50,
                    p99_ms = gx.P99,
                    mean_ms = gx.Mean,
                    max_ms = gx.Max,
                    all_frames = gx.AllLatencies.Count,
                    refused = gx.Refused,
                } : null,
            },
            wire = primary is null ? null : new
            {
                source = "the distributed runs' exchange statistics (mtls_tickets: the secured runs'; telemetry: the traced runs'; loops_over_grpc: the gRPC loops'); serialized frames, TLS records not counted",
                frames = Maybe(Has(Distributed), dx.Frames),
                serialized_frame_bytes = Maybe(Has(Distributed), dx.Bytes),
                grpc_prefix_bytes_per_frame = GrpcPrefixBytes,
                http2_frame_header_bytes_per_frame = Http2FrameHeaderBytes,
                frame_bytes_per_peer_per_step = Maybe(Has(Distributed), dx.FramePerPeerStep),
                wire_bytes_per_peer_per_step = Maybe(Has(Distributed), dx.WirePerPeerStep),
                logits_payload_bytes_per_peer_per_step = payload,
                framing_overhead = Maybe(Has(Distributed), dx.WirePerPeerStep / payload - 1),
                milestone_overhead_max = 0.10,
                ring_allreduce_bytes_per_peer_per_step = allReduce,
                ratio_allreduce_logits = allReduce / primary.WirePerPeerStep,
                mtls_tickets = Has(Secured) ? Wire(sx, payload) : null,
                telemetry = Has(Traced) ? Wire(tx, payload) : null,
                loops_over_grpc = Has(LoopsOverGrpc) ? Wire(gx, payload) : null,
            },
            step_breakdown_ms = Has(LoopsInMemory) ? new
            {
                what = "per peer, ms per step over the steps after the warm-up: step interval, time in Gather (wait), time in Publish, rest = step - wait - publish",
                loops_in_memory = memoryLoops.Select(l => l.Peers),
                loops_over_grpc = grpcLoops.Select(l => l.Peers),
            } : null,
            cpu_ms_per_step = cpuSummary,
            log_messages = messages.Count,
            log_messages_what = "coordinator, worker and exchange log lines at the chosen level or above (the nodes' loggers from when they serve; the loops' from the start; not while each distributed round's security is probed after it)",
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    /// <summary>
    /// The order of the <paramref name="selected"/> distributed modes in round <paramref name="round"/>
    /// (0-based): their order in <see cref="DistributedModes"/> rotated by one every round, so that each
    /// goes first, and last, in turn (two modes swap places every round).
    /// </summary>
    private static List<string> DistributedOrder(int round, Func<string, bool> selected)
    {
        var chosen = DistributedModes.Where(selected).ToList();
        var shift = chosen.Count == 0 ? 0 : round % chosen.Count;
        return [.. chosen.Skip(shift), .. chosen.Take(shift)];
    }

    /// <summary>The configuration that points a node's telemetry at <paramref name="receiver"/> over OTLP/gRPC, and nothing else (the defaults for the rest).</summary>
    private static Dictionary<string, string?> TelemetryConfiguration(OtlpReceiver receiver) => new(StringComparer.Ordinal)
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.OtlpGrpcEndpoint.GetLeftPart(UriPartial.Authority),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
    };

    /// <summary>A run id of the form the coordinator gives (the cohort and a UTC time), for loops without a distributed round before them.</summary>
    private static string StandInRun(CohortSpec spec) => spec.Cohort + "-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);

    /// <summary>The node name (and worker id) of the <paramref name="index"/>th worker of a distributed round.</summary>
    private static string WorkerId(int index) => Invariant($"bench-worker-{index + 1}");

    private static double? Maybe(bool present, double value) => present ? value : null;

    private static string Ratios(IEnumerable<double> ratios) => string.Join(", ", ratios.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)));

    private static object Wire(ExchangeFigures x, double payload) => new
    {
        frames = x.Frames,
        serialized_frame_bytes = x.Bytes,
        frame_bytes_per_peer_per_step = x.FramePerPeerStep,
        wire_bytes_per_peer_per_step = x.WirePerPeerStep,
        framing_overhead = x.WirePerPeerStep / payload - 1,
    };

    /// <summary>The cohort spec as a user would write it.</summary>
    private static string SpecText(int steps, bool fashion)
    {
        var images = steps * 128;
        var text = new StringBuilder();
        text.AppendLine("cohort: bench-distributed");
        text.AppendLine("peers:");
        foreach (var (name, seed) in new[] { ("a", 1), ("b", 2) })
        {
            text.AppendLine(Invariant($"  - name: {name}"));
            text.AppendLine("    model: cnn");
            text.AppendLine("    optimizer: {kind: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}");
            text.AppendLine(Invariant($"    seed: {seed}"));
            text.AppendLine("    threads: 1");
        }

        text.AppendLine("distillation: {strategy: dml, temperature: 1, alpha: 1, teacher: pairwise, combine: additive}");
        text.AppendLine("data:");
        text.AppendLine(fashion ? "  dataset: fashion-mnist" : "  dataset: synthetic");
        text.AppendLine("  batch_size: 128");
        text.AppendLine("  epochs: 1");
        text.AppendLine(fashion ? Invariant($"  train_subset: {images}") : Invariant($"  synthetic: {{train_count: {images}, test_count: 500}}"));
        text.AppendLine("evaluation: {at_epoch_end: false}");
        text.AppendLine("checkpoints: {every_steps: 1000000, keep_last: 1}");   // beyond the run: only the final checkpoint
        return text.ToString();
    }

    private static ModeResult TimeEmbedded(CohortSpec spec, CohortData data, int warmup)
    {
        var checkpoints = Directory.CreateTempSubdirectory("peerdistill-bench-embedded-");
        try
        {
            var cpu = new CpuWindow();
            var recorder = new StepRecorder(cpu, warmup, data.TotalSteps - 1);
            var result = CohortRunner.Run(spec, data, StrategyRegistry.Create(spec), "embedded", checkpoints.FullName, resume: false, recorder, new StopControl());
            var failed = result.Peers.Where(p => p.Status != Core.Runner.PeerStatus.Completed).ToList();
            if (failed.Count > 0)
            {
                throw new InvalidOperationException($"embedded run: {string.Join("; ", failed.Select(p => $"{p.Peer} {p.Status}: {p.Message}"))}");
            }

            return Pace(recorder.Steps.ToList(), warmup, "embedded", result.WallSeconds, cpu.PerStep());
        }
        finally
        {
            checkpoints.Delete(recursive: true);
        }
    }

    /// <summary>
    /// One distributed round on a new cluster: a coordinator node and one worker node per peer (one
    /// cpu slot each), the spec submitted through CohortService/Submit and followed until it ends.
    /// With <paramref name="certificates"/> every node has its certificate (mutual TLS silo-to-silo and
    /// on the exchange, TLS on the API) and the exchange checks tickets; without, every connection is
    /// cleartext and the workers' exchange neither sends nor requires tickets. Returns the pace from
    /// the peers' metrics files, the exchange's measurements of the run (its instruments, listened to
    /// for the run's whole length), and what the cluster was seen to use, probed after the run; a cluster
    /// that did not use what the mode says fails the round. With <paramref name="receiver"/> (not with
    /// certificates), every node exports its traces and metrics to it over OTLP/gRPC (the plain cluster
    /// otherwise), and a round whose receiver got no span of its run from a worker, once the nodes are
    /// stopped (which flushes their exporters), fails.
    /// </summary>
    private static async Task<DistributedResult> TimeDistributedAsync(string specText, CohortSpec spec, int steps, int warmup, CapturingLog log, LogLevel logLevel, BenchCertificates? certificates, OtlpReceiver? receiver)
    {
        if (certificates is not null && receiver is not null)
        {
            throw new ArgumentException("a distributed round is secured or traced, not both", nameof(receiver));
        }

        var mode = certificates is not null ? Secured : receiver is not null ? Traced : Distributed;
        var configuration = receiver is null ? null : TelemetryConfiguration(receiver);
        var root = Directory.CreateTempSubdirectory("peerdistill-bench-distributed-");
        try
        {
            string run;
            double wall;
            ClusterSecurity seen;
            var cpu = new CpuWindow();
            // Listening from before the submission: every frame of the run is counted (runs of one cohort follow each other).
            var measured = new ExchangeMeasurements(spec.Cohort);
            var coordinator = await BenchHosts.StartCoordinatorAsync(root.FullName, logLevel, certificates?.For(CoordinatorNodeName), configuration);
            try
            {
                coordinator.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
                var workers = new List<WorkerNode>();
                try
                {
                    for (var i = 0; i < spec.Peers.Count; i++)
                    {
                        var worker = await BenchHosts.StartWorkerAsync(coordinator.ClusterEndpoint, WorkerId(i), logLevel, certificates?.For(WorkerId(i)), exchangeTicketsOff: certificates is null, configuration);
                        workers.Add(worker);
                        worker.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
                    }

                    var hosts = workers.Select(w => w.Services.GetRequiredService<SiloPeerHost>()).ToList();
                    using var channel = GrpcChannels.ForAddress(coordinator.ApiAddress, coordinator.FirstAdminToken, certificates is null ? null : ClusterCertificates.TrustServersOf(certificates.Authority));
                    var clock = Stopwatch.StartNew();
                    var reply = await new CohortService.CohortServiceClient(channel).SubmitAsync(new SubmitCohortRequest { SpecText = specText, SpecFormat = "yaml" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))).ResponseAsync;
                    run = reply.Run;
                    var metrics = spec.Peers.Select(p => Path.Combine(root.FullName, reply.Cohort, reply.Run, $"metrics.{p.Name}.jsonl")).ToList();
                    var status = await WaitForEndAsync(channel, reply.Cohort, reply.Run, metrics, cpu, warmup, steps - 1, TimeSpan.FromMinutes(10), () => { });
                    wall = clock.Elapsed.TotalSeconds;
                    if (status.State != CohortState.Completed)
                    {
                        throw new InvalidOperationException($"{mode} run {reply.Run} ended {status.State}: {string.Join("; ", status.Peers.Select(p => $"{p.Peer} {p.State}: {p.Message}"))}");
                    }

                    seen = await ClusterSecurity.ProbeAsync(coordinator, workers, log);
                    if (seen.Problem(secured: certificates is not null) is { } problem)
                    {
                        throw new InvalidOperationException($"{mode} run {reply.Run}: {problem} ({seen.Describe()}); its figures would not measure what the mode says");
                    }
                }
                finally
                {
                    foreach (var w in workers)
                    {
                        await w.DisposeAsync();
                    }
                }
            }
            finally
            {
                await coordinator.DisposeAsync();
                measured.Dispose();
            }

            // Stopped, the nodes have flushed what their exporters held: the receiver has it or is taking it.
            var exported = receiver is null ? null : await ExportedTelemetry.WaitAsync(receiver, run, mode);
            var output = Path.Combine(root.FullName, spec.Cohort, run);
            var records = spec.Peers.SelectMany(p => ReadSteps(Path.Combine(output, $"metrics.{p.Name}.jsonl"))).ToList();
            return new DistributedResult(Pace(records, warmup, mode, wall, cpu.PerStep()) with { Run = run }, measured, seen, exported);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Polls GetCohort (every 200 ms) until the run ends; meanwhile follows the peers' metrics files
    /// (every 100 ms) to open the CPU window when a peer has finished step <paramref name="warmup"/>
    /// and close it when one has finished the last step.
    /// </summary>
    private static async Task<CohortStatus> WaitForEndAsync(GrpcChannel channel, string cohort, string run, IReadOnlyList<string> metrics, CpuWindow cpu, int warmup, long last, TimeSpan limit, Action everyPoll)
    {
        var clock = Stopwatch.StartNew();
        var nextPoll = TimeSpan.Zero;
        while (true)
        {
            everyPoll();
            if (clock.Elapsed >= nextPoll)
            {
                nextPoll = clock.Elapsed + TimeSpan.FromMilliseconds(200);
                var status = await new CohortService.CohortServiceClient(channel).GetCohortAsync(new GetCohortRequest { Cohort = cohort, Run = run }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10))).ResponseAsync;
                if (status.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled)
                {
                    return status;
                }

                if (clock.Elapsed > limit)
                {
                    throw new TimeoutException($"cohort run {run} still {status.State} after {limit}");
                }
            }

            if (!cpu.Ended)
            {
                var newest = metrics.Max(LatestStep);
                if (newest >= warmup)
                {
                    cpu.Start(newest);
                }

                if (newest >= last)
                {
                    cpu.End(newest);
                }
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The newest step in a metrics file being written (-1 if none yet).</summary>
    private static long LatestStep(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (var i = lines.Length - 1; i >= 0; i--)
            {
                try
                {
                    if (JsonNode.Parse(lines[i]) is JsonObject node && node["type"]?.GetValue<string>() == "step")
                    {
                        return node["step"]!.GetValue<long>();
                    }
                }
                catch (JsonException)
                {
                    // A line being written.
                }
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
        }

        return -1;
    }

    /// <summary>
    /// The spec's peers stepped by <see cref="PeerStepLoop"/> on their own threads (as the embedded
    /// runner and the workers do) through a timed exchange: in memory (<see cref="InMemoryLogitExchange"/>,
    /// the embedded runner's), or over gRPC (one <see cref="GrpcLogitExchange"/> and hub per peer, each
    /// hub served by its own Kestrel server on 127.0.0.1, as in two workers; no Orleans, no
    /// coordinator). <paramref name="run"/> is the distributed round's run id, so that the frames carry
    /// names of the same length as the workers' frames.
    /// </summary>
    private static async Task<LoopResult> TimeLoopsAsync(CohortSpec spec, CohortData data, string run, int warmup, bool grpc, ILoggerFactory loggers)
    {
        var root = Directory.CreateTempSubdirectory("peerdistill-bench-loops-");
        var strategy = StrategyRegistry.Create(spec);
        var names = spec.Peers.Select(p => p.Name).ToList();
        var times = new StepTimes(names, data.TotalSteps);
        var cpu = new CpuWindow();
        var recorder = new StepRecorder(cpu, warmup, data.TotalSteps - 1);
        var logger = loggers.CreateLogger("PeerDistill.Worker");
        var servers = new List<WebApplication>();
        var channels = new ConcurrentDictionary<string, GrpcChannel>(StringComparer.Ordinal);
        GrpcChannel ChannelFor(string address) => channels.GetOrAdd(address, a => GrpcChannels.ForAddress(a));
        var remote = new List<GrpcLogitExchange>();
        using var measured = new ExchangeMeasurements(spec.Cohort, run);
        InMemoryLogitExchange? memory = null;
        try
        {
            var exchanges = new List<ILogitExchange>();
            CohortDirectory? directory = null;
            var addresses = new List<string>();
            if (grpc)
            {
                var settings = ExchangeSettingsFactory.From(spec, data, run);
                directory = new CohortDirectory();
                var hubs = names.Select(_ => new ExchangeHub(settings, directory, logger)).ToList();
                // Every stream carries a ticket signed with one key, and every server checks it, as in a cluster.
                var key = TicketCodec.NewKey();
                var codec = new TicketCodec(key);
                var tickets = names.ToDictionary(n => n, n => codec.Issue(ExchangeTicket.For(spec.Cohort, run, n, 1, DateTimeOffset.UtcNow)));
                foreach (var hub in hubs)
                {
                    var registry = new ExchangeRegistry();
                    registry.Tickets.Set(key);
                    registry.Add(hub);
                    servers.Add(await BenchHosts.StartExchangeAsync(registry, logger));
                }

                addresses = servers.Select(s => s.GrpcAddress().ToString()).ToList();
                directory.Update(names.Select((n, i) => new PeerLocation(n, addresses[i], 1, PeerPresence.Active)));
                var learnersOf = GrpcLogitExchange.LearnersOf(strategy, names);
                for (var i = 0; i < names.Count; i++)
                {
                    hubs[i].Host(names[i], 1, strategy.Configure(names[i], 0), 0);
                    remote.Add(new GrpcLogitExchange(hubs[i], addresses[i], learnersOf, _ => 1, peer => tickets[peer], ChannelFor, logger));
                    exchanges.Add(new TimedExchange(remote[i], times));
                }
            }
            else
            {
                memory = new InMemoryLogitExchange(names.Where(n => strategy.Configure(n, 0).Count > 0));
                exchanges.AddRange(names.Select(_ => new TimedExchange(memory, times)));
            }

            var store = new CheckpointStore(root.FullName, run, spec.Checkpoints.KeepLast);
            var options = PeerLoopOptions.For(spec, run);
            var outcomes = new PeerOutcome?[names.Count];
            var errors = new ConcurrentQueue<Exception>();
            var clock = Stopwatch.StartNew();
            var threads = spec.Peers.Select((peer, i) => new Thread(() =>
            {
                try
                {
                    using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps);
                    outcomes[i] = new PeerStepLoop(session, data, strategy, exchanges[i], recorder, new StopControl(coupled: false), store, options).Run(CancellationToken.None);
                    directory?.Update([new PeerLocation(peer.Name, addresses[i], 1, PeerPresence.Done)]);
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })
            {
                Name = $"peer-{peer.Name}",
                IsBackground = true,
            }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            var wall = clock.Elapsed.TotalSeconds;
            var mode = grpc ? "loops over gRPC" : "loops in memory";
            if (!errors.IsEmpty || outcomes.Any(o => o?.Status != Core.Runner.PeerStatus.Completed))
            {
                throw new InvalidOperationException($"{mode}: {string.Join("; ", errors.Select(x => x.Message).Concat(outcomes.Where(o => o is not null).Select(o => $"{o!.Peer} {o.Status}: {o.Message}")))}");
            }

            // A finished peer's links send their last frames in the background: wait for the last acks.
            var expected = data.TotalSteps * names.Count * (names.Count - 1);
            var settle = Stopwatch.StartNew();
            while (grpc && measured.Frames < expected && settle.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20);
            }

            var points = recorder.Steps.ToList();
            var breakdown = names.ToDictionary(n => n, n => times.Breakdown(n, points.Where(p => p.Peer == n), warmup), StringComparer.Ordinal);
            return new LoopResult(Pace(points, warmup, mode, wall, cpu.PerStep()), breakdown, grpc ? measured : null);
        }
        finally
        {
            foreach (var r in remote)
            {
                await r.DisposeAsync();
            }

            memory?.Dispose();
            foreach (var c in channels.Values)
            {
                c.Dispose();
            }

            foreach (var s in servers)
            {
                await BenchHosts.StopAsync(s);
            }

            root.Delete(recursive: true);
        }
    }

    /// <summary>The step records of a metrics.&lt;peer&gt;.jsonl file.</summary>
    private static IEnumerable<StepPoint> ReadSteps(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line) || JsonNode.Parse(line) is not JsonObject node || node["type"]?.GetValue<string>() != "step")
            {
                continue;
            }

            yield return new StepPoint(node["peer"]!.GetValue<string>(), node["step"]!.GetValue<long>(), node["elapsed_s"]!.GetValue<double>(), node["teachers"]!.GetValue<int>());
        }
    }

    /// <summary>The cohort's pace: per peer (elapsed at the last step - elapsed at step W) / (last - W); the slower peer.</summary>
    private static ModeResult Pace(IReadOnlyCollection<StepPoint> records, int warmup, string mode, double wall, IReadOnlyDictionary<string, ThreadCpuTime> cpu)
    {
        double pace = 0;
        var medianStep = 0.0;
        foreach (var peer in records.GroupBy(r => r.Peer, StringComparer.Ordinal))
        {
            var byStep = new SortedDictionary<long, double>();
            foreach (var r in peer)
            {
                byStep[r.Step] = r.ElapsedSeconds;
            }

            var last = byStep.Keys.Max();
            if (last <= warmup || !byStep.TryGetValue(warmup, out var start))
            {
                throw new InvalidOperationException($"{mode}: peer '{peer.Key}' recorded steps up to {last}, none after the warm-up step {warmup}");
            }

            var ms = (byStep[last] - start) / (last - warmup) * 1000;
            if (ms > pace)
            {
                pace = ms;
                medianStep = Median(byStep.Where(kv => kv.Key > warmup).Select(kv => (kv.Value - byStep.GetValueOrDefault(kv.Key - 1, kv.Value)) * 1000).ToList());
            }
        }

        return new ModeResult(pace, medianStep, wall, string.Empty, records.Count(r => r.Teachers == 0), cpu);
    }

    private static bool IsPeerThread(string name) => name.StartsWith("peer-", StringComparison.Ordinal);

    private static (double Best, double Median) Summary(IReadOnlyList<ModeResult> results) =>
        results.Count == 0 ? (double.NaN, double.NaN) : (results.Min(r => r.MsPerStep), Median(results.Select(r => r.MsPerStep).ToList()));

    private static double MedianOf(IReadOnlyList<LoopResult> loops, string peer, Func<PeerBreakdown, double> field) =>
        Median(loops.Select(l => field(l.Peers[peer])).ToList());

    private static double MedianCpu(IReadOnlyList<LoopResult> loops, string thread, Func<ThreadCpuTime, double> field) =>
        Median(loops.Select(l => l.Pace.Cpu.TryGetValue(thread, out var t) ? field(t) : double.NaN).ToList());

    private static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private readonly record struct StepPoint(string Peer, long Step, double ElapsedSeconds, int Teachers);

    /// <summary>A mode's pace (ms per step), the slower peer's median step interval, wall time, run id, steps without teacher, CPU per step by thread.</summary>
    private sealed record ModeResult(double MsPerStep, double MedianStepMs, double WallSeconds, string Run, int StepsWithoutTeacher, IReadOnlyDictionary<string, ThreadCpuTime> Cpu);

    /// <summary>One peer's means per step over the steps after the warm-up: step interval, time in Gather, time in Publish.</summary>
    private sealed record PeerBreakdown(double StepMs, double WaitMs, double PublishMs)
    {
        /// <summary>Everything else of a step: batch, forward, loss, backward, optimizer, records.</summary>
        public double RestMs => StepMs - WaitMs - PublishMs;
    }

    /// <summary>A distributed round: its pace, its exchange's measurements, what its cluster used, and (traced rounds) what its nodes exported.</summary>
    private sealed record DistributedResult(ModeResult Pace, ExchangeMeasurements Statistics, ClusterSecurity Security, ExportedTelemetry? Telemetry);

    /// <summary>
    /// What a traced round's workers exported of its run, as the receiver got it: the distinct spans
    /// (by span id: every node's tracer provider in this process exports every span) of the traces of
    /// the run's peer activations, of them the peer.activation and step spans, and the instruments with
    /// a point of the run.
    /// </summary>
    private sealed record ExportedTelemetry(string Run, int WorkerSpans, int Activations, int Steps, int WorkerInstruments)
    {
        /// <summary>
        /// Waits (at most <see cref="TelemetryPatience"/>) until the receiver holds a peer.activation
        /// span of <paramref name="run"/> and a step span of its trace from a worker; fails the round
        /// when it does not, since its figures would not measure what <paramref name="mode"/> says.
        /// </summary>
        public static async Task<ExportedTelemetry> WaitAsync(OtlpReceiver receiver, string run, string mode)
        {
            var worker = TelemetryHosting.ServiceName(SiloRoles.Worker);
            IReadOnlyList<ReceivedSpan> OfRun(IReadOnlyList<ReceivedSpan> spans)
            {
                var traces = spans.Where(x => x.ServiceName == worker && x.Name == SpanNames.PeerActivation && Equals(x.Attributes.GetValueOrDefault(TelemetryAttributes.Run), run))
                    .Select(x => x.TraceId).ToHashSet(StringComparer.Ordinal);
                return spans.Where(x => x.ServiceName == worker && traces.Contains(x.TraceId)).DistinctBy(x => x.SpanId).ToList();
            }

            IReadOnlyList<ReceivedSpan> spans;
            try
            {
                spans = OfRun(await receiver.WaitForSpansAsync(all => OfRun(all).Any(x => x.Name == SpanNames.Step), TelemetryPatience, $"a peer.activation span of run {run} and a step span of its trace from a worker"));
            }
            catch (TimeoutException e)
            {
                throw new InvalidOperationException($"{mode} run {run}: the OTLP receiver got no span of the run from a worker; its figures would not measure what the mode says ({e.Message})", e);
            }

            var instruments = (await receiver.MetricsAsync(worker)).Where(m => m.Points.Any(p => Equals(p.Attributes.GetValueOrDefault(TelemetryAttributes.Run), run)))
                .Select(m => m.Name).Distinct(StringComparer.Ordinal).Count();
            return new ExportedTelemetry(run, spans.Count, spans.Count(x => x.Name == SpanNames.PeerActivation), spans.Count(x => x.Name == SpanNames.Step), instruments);
        }

        public string Describe() =>
            Invariant($"run {Run}: {WorkerSpans} distinct spans of its peer activations' traces exported by the workers ({Activations} {SpanNames.PeerActivation}, {Steps} {SpanNames.Step}), ") +
            Invariant($"{WorkerInstruments} instruments with points of the run");
    }

    /// <summary>Latencies (sorted; after the warm-up steps of each link, and all), frames and bytes of a mode's exchange statistics.</summary>
    private sealed record ExchangeFigures(IReadOnlyList<double> Latencies, IReadOnlyList<double> AllLatencies, long Frames, long Bytes, long Refused, double PeerSteps)
    {
        public double P50 => Percentile(Latencies, 0.50);

        public double P99 => Percentile(Latencies, 0.99);

        public double Mean => Latencies.Count > 0 ? Latencies.Average() : double.NaN;

        public double Max => Latencies.Count > 0 ? Latencies[^1] : double.NaN;

        public double FramePerPeerStep => Bytes / PeerSteps;

        public double WirePerPeerStep => (Bytes + ((double)Frames * (GrpcPrefixBytes + Http2FrameHeaderBytes))) / PeerSteps;

        /// <summary>Each link's latencies are in the order measured, so its first ones are its first steps.</summary>
        public static ExchangeFigures Of(IReadOnlyList<ExchangeMeasurements> statistics, int warmup, double peerSteps) => new(
            statistics.SelectMany(s => s.LatenciesMsByLink().SelectMany(l => l.Skip(warmup))).Order().ToList(),
            statistics.SelectMany(s => s.LatenciesMsByLink().SelectMany(l => l)).Order().ToList(),
            statistics.Sum(s => s.Frames),
            statistics.Sum(s => s.Bytes),
            statistics.Sum(s => s.Refused),
            peerSteps);
    }

    private sealed record LoopResult(ModeResult Pace, IReadOnlyDictionary<string, PeerBreakdown> Peers, ExchangeMeasurements? Statistics);

    /// <summary>Time spent in Publish and Gather per peer and step (each peer writes only its own arrays).</summary>
    private sealed class StepTimes(IReadOnlyCollection<string> peers, long steps)
    {
        private readonly Dictionary<string, double[]> _publish = peers.ToDictionary(p => p, _ => new double[steps], StringComparer.Ordinal);
        private readonly Dictionary<string, double[]> _gather = peers.ToDictionary(p => p, _ => new double[steps], StringComparer.Ordinal);

        public void Publish(string peer, long step, TimeSpan time) => _publish[peer][step] = time.TotalMilliseconds;

        public void Gather(string peer, long step, TimeSpan time) => _gather[peer][step] = time.TotalMilliseconds;

        public PeerBreakdown Breakdown(string peer, IEnumerable<StepPoint> points, int warmup)
        {
            var byStep = points.ToDictionary(p => p.Step, p => p.ElapsedSeconds);
            var last = byStep.Keys.Max();
            var range = Enumerable.Range(warmup + 1, (int)(last - warmup)).ToList();
            return new PeerBreakdown(
                (byStep[last] - byStep[warmup]) / (last - warmup) * 1000,
                range.Average(s => _gather[peer][s]),
                range.Average(s => _publish[peer][s]));
        }
    }

    /// <summary>An exchange that times what the step loop spends in Publish and Gather.</summary>
    private sealed class TimedExchange(ILogitExchange inner, StepTimes times) : ILogitExchange
    {
        public void Publish(string peer, long step, Tensor logits)
        {
            var start = Stopwatch.GetTimestamp();
            inner.Publish(peer, step, logits);
            times.Publish(peer, step, Stopwatch.GetElapsedTime(start));
        }

        public void Withdraw(string peer, long step, string reason) => inner.Withdraw(peer, step, reason);

        public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
        {
            var start = Stopwatch.GetTimestamp();
            var result = inner.Gather(peer, step, from, cancellation);
            times.Gather(peer, step, Stopwatch.GetElapsedTime(start));
            return result;
        }
    }

    /// <summary>The step records (elapsed rounded to the ms as metrics.jsonl has it); opens and closes a CPU window.</summary>
    private sealed class StepRecorder(CpuWindow cpu, int warmup, long last) : ICohortObserver
    {
        private readonly ConcurrentQueue<StepPoint> _steps = new();

        public IEnumerable<StepPoint> Steps => _steps;

        public void OnStep(StepRecord record)
        {
            _steps.Enqueue(new StepPoint(record.Peer, record.Step, Math.Round(record.ElapsedSeconds, 3), record.Teachers));
            if (record.Step == warmup)
            {
                cpu.Start(record.Step);
            }
            else if (record.Step == last)
            {
                cpu.End(record.Step);
            }
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
        }
    }

    /// <summary>
    /// What a distributed round's cluster used, seen from outside once its run is over: the schemes of
    /// the API's and the exchanges' addresses, whether the coordinator's silo port completes a TLS
    /// handshake (with a worker's certificate where the workers have one), what each worker's exchange
    /// answers a stream that carries no ticket, and the ticket refusals its exchange counted during the run.
    /// </summary>
    private sealed record ClusterSecurity(string ApiScheme, string RestScheme, IReadOnlyList<string> ExchangeSchemes, bool SiloTls, IReadOnlyList<string> StreamWithoutTicket, long RefusalsDuringRun)
    {
        /// <summary>How long a probe's connection may take.</summary>
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

        /// <summary>Probes the cluster (the log muted meanwhile: the refusals are the probes' own).</summary>
        public static async Task<ClusterSecurity> ProbeAsync(CoordinatorNode coordinator, IReadOnlyList<WorkerNode> workers, CapturingLog log)
        {
            var refusals = workers.Sum(w => w.Services.GetRequiredService<ExchangeRegistry>().Refusals.Snapshot().Values.Sum());
            log.Muted = true;
            try
            {
                var node = workers[0].Services.GetService<ClusterCredentials>()?.ClientOptions();
                var siloTls = await HandshakesAsync(coordinator.ClusterEndpoint, node ?? new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true });
                var answers = new List<string>();
                foreach (var worker in workers)
                {
                    answers.Add(await StreamWithoutTicketAsync(worker.ExchangeAddress, worker.Services.GetService<ClusterCredentials>()?.ClientOptions()));
                }

                return new ClusterSecurity(coordinator.ApiAddress.Scheme, coordinator.HttpAddress.Scheme, workers.Select(w => new Uri(w.ExchangeAddress).Scheme).ToList(), siloTls, answers, refusals);
            }
            finally
            {
                log.Muted = false;
            }
        }

        /// <summary>Null when the cluster used what its mode says (<paramref name="secured"/>: TLS everywhere and tickets required; else neither), otherwise what it did not.</summary>
        public string? Problem(bool secured)
        {
            var (scheme, answer) = secured ? ("https", nameof(StatusCode.Unauthenticated)) : ("http", nameof(StatusCode.OK));
            if (ApiScheme != scheme || RestScheme != scheme || ExchangeSchemes.Any(x => x != scheme))
            {
                return $"its API and exchange addresses are not all {scheme}";
            }

            if (SiloTls != secured)
            {
                return secured ? "the coordinator's silo port does not speak TLS" : "the coordinator's silo port speaks TLS";
            }

            if (StreamWithoutTicket.Any(x => x != answer))
            {
                return secured ? "a worker's exchange took a stream without a ticket" : "a worker's exchange refused a stream without a ticket";
            }

            return RefusalsDuringRun == 0 ? null : Invariant($"the exchange refused {RefusalsDuringRun} stream(s) or call(s) for their tickets during the run");
        }

        public string Describe() =>
            $"API {ApiScheme} (REST {RestScheme}), exchange {string.Join('/', ExchangeSchemes)}, silo port TLS {(SiloTls ? "yes" : "no")}, a stream without a ticket: {string.Join('/', StreamWithoutTicket)}, " +
            Invariant($"ticket refusals during the run {RefusalsDuringRun}");

        /// <summary>Whether a TLS handshake with <paramref name="tls"/> completes on <paramref name="endpoint"/> (host:port).</summary>
        private static async Task<bool> HandshakesAsync(string endpoint, SslClientAuthenticationOptions tls)
        {
            using var patience = new CancellationTokenSource(Patience);
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPEndPoint.Parse(endpoint), patience.Token);
                await using var stream = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
                tls.TargetHost = "localhost";
                await stream.AuthenticateAsClientAsync(tls, patience.Token);
                return true;
            }
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException)
            {
                return false;
            }
        }

        /// <summary>The status of an Exchange stream to <paramref name="address"/> that carries no ticket and no frame.</summary>
        private static async Task<string> StreamWithoutTicketAsync(string address, SslClientAuthenticationOptions? tls)
        {
            using var channel = GrpcChannels.ForAddress(address, tls);
            try
            {
                using var call = new PeerExchange.PeerExchangeClient(channel).Exchange(headers: null, deadline: DateTime.UtcNow + Patience);
                try
                {
                    await call.RequestStream.CompleteAsync();
                }
                catch (RpcException)
                {
                    // Refused already: the status comes with the response.
                }

                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }

                return nameof(StatusCode.OK);
            }
            catch (RpcException e)
            {
                return e.StatusCode.ToString();
            }
        }
    }

    /// <summary>Collects what the coordinator, workers and exchange log at the chosen level and above.</summary>
    private sealed class CapturingLog(LogLevel minimum) : ILoggerProvider, ILogger
    {
        private volatile bool _muted;

        public ConcurrentQueue<string> Messages { get; } = new();

        /// <summary>Keeps nothing while true: the refusals the bench's own probes cause are not the cluster's.</summary>
        public bool Muted
        {
            get => _muted;
            set => _muted = value;
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && !_muted)
            {
                Messages.Enqueue($"{logLevel} {eventId.Id}: {formatter(state, exception)}");
            }
        }

        public void Dispose()
        {
        }
    }
}
