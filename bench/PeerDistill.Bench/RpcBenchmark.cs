using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Bench;

/// <summary>
/// The data plane's transport against python3-grpcio on loopback, with one step of logits per message
/// (a LogitsFrame of [batch, classes] FP32 values, 5 KB for 128 x 10), in alternating rounds of one run:
/// - unary latency: sequential calls of the bench-only <c>peerdistill.bench.v1.Bench/Echo</c> (a
///   LogitsFrame there and back) on one channel, p50 and p99 of the per-call times;
/// - stream throughput: one <c>PeerExchange/Exchange</c> stream, the client writing frames as fast as
///   flow control lets it while a concurrent reader takes the server's acks (one per frame), from the
///   start of the call to the last ack.
/// ours: the official .NET stack, this process's Grpc.Net.Client <see cref="GrpcChannel"/> (the generated
/// PeerExchange client) against Grpc.AspNetCore in a <see cref="Grpc.AspNetCore server (GrpcHosting)"/> in a child process (this
/// binary's hidden <c>rpc-server</c>, serving a <see cref="PeerExchange.PeerExchangeBase"/>), so that client and server have their own thread
/// pools and GCs as two peers would; python: an rpc_bench.py client process against an rpc_bench.py
/// server process. Both servers run for the whole benchmark; each round makes a fresh channel.
/// </summary>
internal static class RpcBenchmark
{
    private const string Python = "/usr/bin/python3";

    /// <summary>The bench-only unary method: a LogitsFrame echoed back, so that 5 KB travel both ways.</summary>
    internal static readonly Method<LogitsFrame, LogitsFrame> Echo = new(MethodType.Unary, "peerdistill.bench.v1.Bench", "Echo", Marshallers.Create(m => m.ToByteArray(), LogitsFrame.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), LogitsFrame.Parser.ParseFrom));

    public static int Run(string[] args)
    {
        string? work = null;
        try
        {
            return Run(args, out work);
        }
        finally
        {
            if (work is not null)
            {
                try
                {
                    Directory.Delete(work, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static int Run(string[] args, out string? workDirectory)
    {
        workDirectory = null;
        var a = new BenchArgs(args);
        var rounds = a.Int("rounds", 3);
        var unaryCalls = a.Int("unary-calls", 2000);
        var unaryWarmup = a.Int("unary-warmup", 300);
        var warmupSeconds = a.Int("warmup-seconds", 8);
        var verbose = a.Int("verbose", 0) != 0;
        var frames = a.Int("frames", 20000);
        var streamWarmup = a.Int("stream-warmup", 3000);
        var batch = a.Int("batch", 128);
        var classes = a.Int("classes", 10);
        var report = a.String("report", Path.Combine(EngineBenchmark.FindRepoRoot(), "bench", "reports", "rpc.json"));
        var protoRoot = a.String("protos", Path.Combine(EngineBenchmark.FindRepoRoot(), "protos"));

        var sample = MakeFrame(batch, classes, 0, ByteString.CopyFrom(new byte[batch * classes * 4]));
        var frameBytes = sample.CalculateSize();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rpc benchmark: loopback h2c, LogitsFrame [{batch},{classes}] FP32 ({batch * classes * 4} B of values, {frameBytes} B serialized), {rounds} alternating rounds, {Environment.ProcessorCount} cores"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  unary: {unaryCalls} sequential Echo calls (LogitsFrame both ways) after {unaryWarmup} warm-up calls, one channel; a {warmupSeconds} s warm-up phase first (JIT tiering), not recorded"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  stream: PeerExchange/Exchange, {frames} frames after a {streamWarmup}-frame warm-up stream, one ack per frame; MB/s = serialized LogitsFrame bytes/s (10^6 B), gRPC prefix and HTTP/2 framing not counted"));
        Console.WriteLine("  ours: Grpc.Net.Client 2.85 in this process -> Grpc.AspNetCore 2.85 server in a child process (rpc-server); python: grpcio client and server processes");

        // The servers run in a scratch folder: a host watches its working directory (recursively,
        // for appsettings changes), and the repository is being written to by builds and editors.
        var work = Directory.CreateTempSubdirectory("peerdistill-rpc-bench-").FullName;
        workDirectory = work;
        var pythonProblem = PythonProblem();
        string? stubs = null;
        if (pythonProblem is null)
        {
            stubs = Path.Combine(work, "stubs");
            Directory.CreateDirectory(stubs);
            var (code, _, err) = RunPython(["stubs", "--proto-root", protoRoot, "--out", stubs]);
            if (code != 0)
            {
                pythonProblem = "generating the python stubs failed: " + err.Trim();
            }
        }

        if (pythonProblem is not null)
        {
            Console.WriteLine($"python3-grpcio side skipped: {pythonProblem}");
        }

        using var ourServer = ChildServer.Start(OurServerCommand(), "ours", work);
        using var pythonServer = pythonProblem is null ? ChildServer.Start([Python, Script, "server", "--stubs", stubs!], "python", work) : null;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  servers: ours on port {ourServer.Port}{(pythonServer is null ? string.Empty : $", python on port {pythonServer.Port}")}"));

        var ours = new List<Measurement>();
        var python = new List<Measurement>();
        Console.WriteLine();
        if (warmupSeconds > 0)
        {
            // Steady state, as a long-running peer sees it: the JIT tiers both .NET processes up (tier-0 code
            // and the PGO-instrumented tier first, for a couple of seconds) before anything is recorded.
            var clock = Stopwatch.StartNew();
            var passes = 0;
            Measurement? last = null;
            while (clock.Elapsed.TotalSeconds < warmupSeconds)
            {
                last = MeasureOurs(ourServer, batch, classes, 0, 300, 0, 1000);
                passes++;
                if (verbose)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up pass {passes} at {clock.Elapsed.TotalSeconds:F1} s: {last}"));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up (not recorded): ours {passes} passes in {clock.Elapsed.TotalSeconds:F1} s, last {last}"));
            if (pythonServer is not null)
            {
                last = MeasurePython(stubs!, pythonServer, batch, classes, 0, 300, 0, 1000);
                Console.WriteLine($"warm-up (not recorded): python 1 pass, {last}");
            }
        }

        for (var r = 0; r < rounds; r++)
        {
            ours.Add(MeasureOurs(ourServer, batch, classes, unaryWarmup, unaryCalls, streamWarmup, frames));
            Console.WriteLine($"round {r + 1}: ours   {ours[^1]}");
            if (pythonServer is not null)
            {
                python.Add(MeasurePython(stubs!, pythonServer, batch, classes, unaryWarmup, unaryCalls, streamWarmup, frames));
                Console.WriteLine($"round {r + 1}: python {python[^1]}");
            }
        }

        Console.WriteLine();
        var rows = new List<object>();
        Console.WriteLine("figure                     ours best  ours median  python best  python median  ratio best  ratio median  rounds won  (ratio > 1: ours better)");
        double Row(string name, string unit, Func<Measurement, double> pick, bool higherIsBetter)
        {
            var o = ours.Select(pick).ToList();
            var p = python.Select(pick).ToList();
            var oBest = higherIsBetter ? o.Max() : o.Min();
            var pBest = p.Count == 0 ? double.NaN : higherIsBetter ? p.Max() : p.Min();
            var oMed = Median(o);
            var pMed = Median(p);
            var ratioBest = higherIsBetter ? oBest / pBest : pBest / oBest;
            var ratioMedian = higherIsBetter ? oMed / pMed : pMed / oMed;
            // Rounds alternate, so each round's pair ran within seconds of each other on this shared machine.
            var won = o.Zip(p, (x, y) => higherIsBetter ? x >= y : x <= y).Count(w => w);
            var label = $"{name} ({unit})";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label,-25}  {oBest,9:F1}  {oMed,11:F1}  {pBest,11:F1}  {pMed,13:F1}  {ratioBest,9:F2}x  {ratioMedian,11:F2}x  {won,6}/{p.Count}"));
            rows.Add(new { figure = name, unit, higher_is_better = higherIsBetter, ours_best = oBest, ours_median = oMed, python_best = pBest, python_median = pMed, ratio_best = ratioBest, ratio_median = ratioMedian, rounds_won_by_ours = won, ours_rounds = o, python_rounds = p });
            return ratioMedian;
        }

        var milestone = new[]
        {
            Row("unary p50", "us", m => m.P50Us, higherIsBetter: false),
            Row("unary p99", "us", m => m.P99Us, higherIsBetter: false),
            Row("stream", "msg/s", m => m.MessagesPerSecond, higherIsBetter: true),
        };
        Row("stream", "MB/s", m => m.MessagesPerSecond * frameBytes / 1e6, higherIsBetter: true);
        Row("unary cpu/call", "us", m => m.UnaryCpuUs, higherIsBetter: false);
        Row("stream cpu/msg", "us", m => m.StreamCpuUs, higherIsBetter: false);
        Console.WriteLine("ratio: ours/python for throughput, python/ours for latency and CPU; cpu = user+system time of the client and the server process together, per call or frame");
        var verdict = python.Count == 0 ? "not checked (no python side)" : milestone.All(r => r >= 1) ? "met" : "NOT met";
        Console.WriteLine($"milestone (ours not slower than python3-grpcio on unary p50, unary p99 and stream throughput, median rounds): {verdict}");

        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(new
        {
            benchmark = "rpc",
            transport = "loopback h2c",
            frame = new { shape = new[] { batch, classes }, dtype = "fp32", values_bytes = batch * classes * 4, serialized_bytes = frameBytes },
            unary = new { method = Echo.FullName, calls = unaryCalls, warmup = unaryWarmup },
            stream = new { method = $"/{PeerExchange.Descriptor.FullName}/Exchange", frames, warmup_frames = streamWarmup, mb_per_s = "serialized LogitsFrame bytes per second / 1e6 (gRPC prefix and HTTP/2 framing not counted)" },
            ours_setup = "Grpc.Net.Client 2.85.0 (generated PeerExchange client, bench process) -> Grpc.AspNetCore 2.85.0 (PeerExchangeBase in a Grpc.AspNetCore server (GrpcHosting), child process)",
            python_setup = pythonProblem ?? "grpcio client process (blocking stub; request generator + response iterator) -> grpcio server process (ThreadPoolExecutor(4))",
            rounds,
            warmup_seconds = warmupSeconds,
            machine = $"{Environment.ProcessorCount} cores",
            milestone = verdict,
            results = rows,
            ours_rounds = ours,
            python_rounds = python,
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    /// <summary>The hidden <c>rpc-server</c> subcommand: serves Exchange and Echo, prints its port, runs until stdin closes.</summary>
    public static int Serve(string[] args)
    {
        _ = args;
        var host = BenchHosts.StartGrpcAsync(
            services => services.AddSingleton<IServiceMethodProvider<EchoService>, EchoService.MethodProvider>(),
            endpoints =>
            {
                endpoints.MapGrpcService<AckingExchange>();
                endpoints.MapGrpcService<EchoService>();
            }).GetAwaiter().GetResult();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PORT {host.GrpcAddress().Port}"));
        Console.Out.Flush();
        Console.In.ReadToEnd();
        BenchHosts.StopAsync(host).GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>The bench receiver: one ack per frame, nothing checked.</summary>
    private sealed class AckingExchange : PeerExchange.PeerExchangeBase
    {
        public override async Task Exchange(IAsyncStreamReader<LogitsFrame> requestStream, IServerStreamWriter<ExchangeAck> responseStream, ServerCallContext context)
        {
            while (await requestStream.MoveNext().ConfigureAwait(false))
            {
                await responseStream.WriteAsync(new ExchangeAck { Step = requestStream.Current.Step, Credit = 64, Accepted = true }).ConfigureAwait(false);
            }
        }

        public override Task<ProbeReply> Probe(ProbeRequest request, ServerCallContext context) => Task.FromResult(new ProbeReply());
    }

    /// <summary>The bench-only <c>peerdistill.bench.v1.Bench/Echo</c>, bound without a proto through Grpc.AspNetCore's method provider.</summary>
    private sealed class EchoService
    {
        internal sealed class MethodProvider : IServiceMethodProvider<EchoService>
        {
            public void OnServiceMethodDiscovery(ServiceMethodProviderContext<EchoService> context) =>
                context.AddUnaryMethod(Echo, [], (service, request, call) => Task.FromResult(request));
        }
    }

    internal static LogitsFrame MakeFrame(int batch, int classes, long step, ByteString values) => new()
    {
        Cohort = "bench",
        Run = "run-0",
        Sender = "peer-a",
        Receiver = "peer-b",
        Generation = 1,
        Step = step,
        Epoch = 0,
        BatchIndex = (int)step,
        Shape = { batch, classes },
        Dtype = WireDType.Fp32,
        Values = values,
        SentUnixNanos = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000) + step,
    };

    private static Measurement MeasureOurs(ChildServer server, int batch, int classes, int unaryWarmup, int unaryCalls, int streamWarmup, int frames) =>
        Task.Run(async () =>
        {
            var values = ByteString.CopyFrom(new byte[batch * classes * 4]);
            using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{server.Port}");
            var invoker = channel.CreateCallInvoker();
            var exchange = new PeerExchange.PeerExchangeClient(channel);
            var frame = MakeFrame(batch, classes, 0, values);
            for (var i = 0; i < unaryWarmup; i++)
            {
                using var call = invoker.AsyncUnaryCall(Echo, null, default, frame);
                await call.ResponseAsync.ConfigureAwait(false);
            }

            var latencies = new long[unaryCalls];
            var cpu = Cpu.Read(server.Pid);
            for (var i = 0; i < unaryCalls; i++)
            {
                frame.Step = i;
                var start = Stopwatch.GetTimestamp();
                using var call = invoker.AsyncUnaryCall(Echo, null, default, frame);
                var reply = await call.ResponseAsync.ConfigureAwait(false);
                latencies[i] = Stopwatch.GetTimestamp() - start;
                if (reply.Step != i)
                {
                    throw new InvalidOperationException($"echo returned step {reply.Step}, expected {i}");
                }
            }

            var unaryCpu = Cpu.Read(server.Pid) - cpu;
            if (streamWarmup > 0)
            {
                await StreamAsync(exchange, batch, classes, values, streamWarmup).ConfigureAwait(false);
            }

            cpu = Cpu.Read(server.Pid);
            var elapsed = await StreamAsync(exchange, batch, classes, values, frames).ConfigureAwait(false);
            var streamCpu = Cpu.Read(server.Pid) - cpu;
            return Measurement.From(latencies.Select(t => t * 1e6 / Stopwatch.Frequency).ToArray(), unaryCpu / unaryCalls, frames, elapsed, streamCpu / frames);
        }).GetAwaiter().GetResult();

    /// <summary>Seconds from the start of one Exchange call to the ack of its last frame.</summary>
    private static async Task<double> StreamAsync(PeerExchange.PeerExchangeClient client, int batch, int classes, ByteString values, int count)
    {
        var start = Stopwatch.GetTimestamp();
        using var call = client.Exchange();
        var reader = Task.Run(async () =>
        {
            long acks = 0, last = -1;
            while (await call.ResponseStream.MoveNext().ConfigureAwait(false))
            {
                acks++;
                last = call.ResponseStream.Current.Step;
            }

            return (acks, last);
        });
        for (var step = 0; step < count; step++)
        {
            await call.RequestStream.WriteAsync(MakeFrame(batch, classes, step, values)).ConfigureAwait(false);
        }

        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        var (n, lastStep) = await reader.ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (n != count || lastStep != count - 1)
        {
            throw new InvalidOperationException($"got {n} acks (last step {lastStep}) for {count} frames");
        }

        return elapsed;
    }

    private static Measurement MeasurePython(string stubs, ChildServer server, int batch, int classes, int unaryWarmup, int unaryCalls, int streamWarmup, int frames)
    {
        var (code, stdout, stderr) = RunPython(["client", "--stubs", stubs, "--port", $"{server.Port}", "--server-pid", $"{server.Pid}", "--batch", $"{batch}", "--classes", $"{classes}",
            "--unary-warmup", $"{unaryWarmup}", "--unary-calls", $"{unaryCalls}", "--stream-warmup", $"{streamWarmup}", "--frames", $"{frames}"]);
        if (code != 0)
        {
            throw new InvalidOperationException($"rpc_bench.py client failed ({code}): {stderr}");
        }

        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        var latencies = root.GetProperty("unary_latencies_ns").EnumerateArray().Select(e => e.GetInt64() / 1000.0).ToArray();
        double Seconds(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        Cpu Phase(string name) => new(Seconds(name + "_client_cpu_s"), Seconds(name + "_server_cpu_s"));
        var sent = root.GetProperty("stream_frames").GetInt32();
        return Measurement.From(latencies, Phase("unary") / latencies.Length, sent, root.GetProperty("stream_elapsed_ns").GetInt64() / 1e9, Phase("stream") / sent);
    }

    private static string Script => Path.Combine(AppContext.BaseDirectory, "rpc_bench.py");

    private static (int Code, string Stdout, string Stderr) RunPython(string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    private static string[] OurServerCommand()
    {
        var host = Environment.ProcessPath!;
        var dll = typeof(RpcBenchmark).Assembly.Location;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, dll, "rpc-server"] : [host, "rpc-server"];
    }

    private static string? PythonProblem()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} not found";
        }

        if (!File.Exists(Script))
        {
            return $"{Script} not found";
        }

        using var p = Process.Start(new ProcessStartInfo(Python, "-c \"import grpc, grpc_tools.protoc\"") { RedirectStandardError = true, UseShellExecute = false })!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : "python3-grpcio or python3-grpc-tools not installed (apt-get install python3-grpcio python3-grpc-tools)";
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>One round of one side.</summary>
    /// <param name="UnaryCpuUs">CPU time per unary call, client and server processes together (user + system).</param>
    /// <param name="StreamCpuUs">CPU time per streamed frame, client and server processes together.</param>
    internal sealed record Measurement(
        double P50Us, double P99Us, double MeanUs, double UnaryCpuUs, double UnaryClientCpuUs, double UnaryServerCpuUs,
        double MessagesPerSecond, int Frames, double StreamSeconds, double StreamCpuUs, double StreamClientCpuUs, double StreamServerCpuUs)
    {
        public static Measurement From(double[] latenciesUs, Cpu unaryCpuPerCall, int frames, double streamSeconds, Cpu streamCpuPerFrame)
        {
            var sorted = latenciesUs.Order().ToArray();
            return new Measurement(
                Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Average(),
                unaryCpuPerCall.TotalUs, unaryCpuPerCall.ClientSeconds * 1e6, unaryCpuPerCall.ServerSeconds * 1e6,
                frames / streamSeconds, frames, streamSeconds,
                streamCpuPerFrame.TotalUs, streamCpuPerFrame.ClientSeconds * 1e6, streamCpuPerFrame.ServerSeconds * 1e6);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"unary p50 {P50Us,6:F1} us  p99 {P99Us,7:F1} us  cpu {UnaryCpuUs,5:F0} us/call ({UnaryClientCpuUs:F0}+{UnaryServerCpuUs:F0}) | stream {MessagesPerSecond,6:F0} msg/s  cpu {StreamCpuUs,4:F0} us/msg ({StreamClientCpuUs:F0}+{StreamServerCpuUs:F0})");

        /// <summary>Nearest-rank percentile of sorted values.</summary>
        private static double Percentile(double[] sorted, double p) =>
            sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>CPU time (user + system) of the client and the server process, from /proc/PID/stat; NaN where unreadable.</summary>
    internal readonly record struct Cpu(double ClientSeconds, double ServerSeconds)
    {
        public double TotalUs => (ClientSeconds + ServerSeconds) * 1e6;

        public static Cpu Read(int serverPid) => new(Seconds(Environment.ProcessId), Seconds(serverPid));

        public static Cpu operator -(Cpu a, Cpu b) => new(a.ClientSeconds - b.ClientSeconds, a.ServerSeconds - b.ServerSeconds);

        public static Cpu operator /(Cpu a, int n) => new(a.ClientSeconds / n, a.ServerSeconds / n);

        private static double Seconds(int pid)
        {
            try
            {
                // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s, after the parenthesized command name.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or IndexOutOfRangeException)
            {
                return double.NaN;
            }
        }
    }

    /// <summary>A server process that prints <c>PORT n</c> when it listens and stops when its stdin closes.</summary>
    internal sealed class ChildServer : IDisposable
    {
        private readonly Process _process;

        private ChildServer(Process process, int port)
        {
            _process = process;
            Port = port;
        }

        public int Port { get; }

        public int Pid => _process.Id;

        public static ChildServer Start(string[] command, string name, string workingDirectory)
        {
            var info = new ProcessStartInfo(command[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
            foreach (var arg in command.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info)!;
            var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var errors = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line && line.StartsWith("PORT ", StringComparison.Ordinal))
                {
                    port.TrySetResult(int.Parse(line.AsSpan(5), CultureInfo.InvariantCulture));
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (errors)
                    {
                        errors.AppendLine(line);
                    }
                }
            };
            process.EnableRaisingEvents = true;
            process.Exited += (_, _) => port.TrySetException(new InvalidOperationException($"the {name} server exited ({process.ExitCode}) before listening: {errors}"));
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!port.Task.Wait(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"the {name} server did not print its port within 60 s: {errors}");
            }

            return new ChildServer(process, port.Task.Result);
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(10_000))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }
}
