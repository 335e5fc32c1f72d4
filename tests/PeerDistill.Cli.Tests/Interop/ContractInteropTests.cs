using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;
using PeerDistill.Cluster.Exchange;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Interop;

/// <summary>
/// The wire contract (protos/peerdistill/v1) against an independent gRPC implementation, python3-grpcio,
/// with stubs generated from the protos at test time: a python client drives the CohortService of a
/// real coordinator process and the PeerExchange of a real worker process; the project's own exchange
/// client sends real frames to a python receiver; gRPC health and reflection answer on both processes.
/// </summary>
public sealed class ContractInteropTests(ITestOutputHelper output)
{
    private static readonly string Smoke = Path.Combine(CliProcess.Examples, "smoke.yaml");

    [PythonGrpcFact]
    public async Task PythonClient_DrivesCohortService_OnACoordinatorProcess()
    {
        using var dir = new TempDirectory("peerdistill-interop-coordinator-");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        var result = await PythonGrpc.RunClientAsync(Target(cluster.Url), "cohort_service", TimeSpan.FromSeconds(90), "--spec", Smoke, "--token", cluster.Token);
        output.WriteLine(result.Detail ?? string.Empty);
        Assert.True(result.Passed, result.Describe());
        Assert.False(cluster.CoordinatorProcess.HasExited);
    }

    [PythonGrpcFact]
    public async Task PythonClient_IsRefusedWithTheRightCodes_ByATrainingWorkerProcess()
    {
        using var dir = new TempDirectory("peerdistill-interop-worker-");
        var spec = Path.Combine(dir.Path, "long-smoke.yaml");
        await File.WriteAllTextAsync(spec, File.ReadAllText(Smoke)
            .Replace("epochs: 3", "epochs: 10", StringComparison.Ordinal)
            .Replace("cohort: smoke", "cohort: long-smoke", StringComparison.Ordinal));
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        var worker = Target(await StartWorkerAsync(cluster, "w1", slots: 2));

        // Nothing hosted yet: the worker has not the cluster's ticket key, and refuses every stream (UNAVAILABLE).
        var idle = await PythonGrpc.RunClientAsync(worker, "exchange_refusals", TimeSpan.FromSeconds(60));
        Assert.True(idle.Passed, idle.Describe());

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "long-smoke" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active && p.Step >= 3), TimeSpan.FromMinutes(2));
        var receiver = status.Peers.Single(p => p.Peer == "cnn");
        var teacher = status.Peers.Single(p => p.Peer == "mlp");

        // The script holds the operator's copy of the cluster's key: each frame goes with a genuine
        // ticket of what it claims, so that the frame's own checks answer.
        var keyFile = Path.Combine(dir.Path, "ticket.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(await ClusterTickets.ReadKeyAsync(Path.Combine(dir.Path, "data"), TimeSpan.FromSeconds(30))));

        // smoke's data: 3000 training images in batches of 64 (47 steps an epoch, the last one smaller), 10 classes.
        var training = await PythonGrpc.RunClientAsync(worker, "exchange_refusals", TimeSpan.FromSeconds(60), "--ticket-key-file", keyFile,
            "--cohort", "long-smoke", "--run", status.Run, "--receiver", receiver.Peer, "--teacher", teacher.Peer,
            "--generation", teacher.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch", "64", "--classes", "10", "--steps-per-epoch", "47",
            "--total-steps", receiver.TotalSteps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        output.WriteLine(training.Detail ?? string.Empty);
        Assert.True(training.Passed, training.Describe());

        using var channel = cluster.Coordinator();
        await new CohortService.CohortServiceClient(channel).CancelCohortAsync(new CancelCohortRequest { Cohort = "long-smoke", Reason = "test over" }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.False(cluster.Worker("w1").HasExited);
    }

    [PythonGrpcFact]
    public async Task ProjectExchangeClient_SendsRealFrames_ToAPythonReceiver_AndReadsItsAcks()
    {
        const int Batch = 8, Classes = 10, Steps = 20;
        await using var python = await PythonGrpc.StartServerAsync(null, "--batch", $"{Batch}", "--classes", $"{Classes}");
        var settings = new ExchangeSettings("interop", "run-1", Classes, _ => Batch, Steps + 1, WireDType.Fp32, TimeSpan.FromSeconds(5), Quorum: 0);
        var directory = new CohortDirectory();
        directory.Update([new PeerLocation("py", python.Address, 1, PeerPresence.Active)]);
        var hub = new ExchangeHub(settings, directory, NullLogger.Instance);
        var channels = new List<Grpc.Net.Client.GrpcChannel>();
        var sums = new Dictionary<long, double>();
        using var measured = new ExchangeMeasurements("interop", "run-1");
        var exchange = new GrpcLogitExchange(hub, "http://127.0.0.1:1", new Dictionary<string, IReadOnlyList<string>> { ["cs"] = ["py"] }, _ => 3, _ => string.Empty, address =>
        {
            var channel = GrpcChannels.ForAddress(address);
            channels.Add(channel);
            return channel;
        }, NullLogger.Instance);
        try
        {
            exchange.Prepare("cs");
            var random = new Random(5);
            for (var step = 0; step < Steps; step++)
            {
                var values = Enumerable.Range(0, Batch * Classes).Select(_ => (float)((random.NextDouble() * 20) - 10)).ToArray();
                sums[step] = values.Sum(v => (double)v);
                exchange.Publish("cs", step, Tensor.FromSpan(values, [Batch, Classes]));
            }

            // One frame the receiver refuses: a batch of 7 rows where it expects 8.
            exchange.Publish("cs", Steps, Tensor.FromSpan(new float[(Batch - 1) * Classes], [Batch - 1, Classes]));
        }
        finally
        {
            // Closing the exchange lets the queued frames go out and waits for their acks.
            await exchange.DisposeAsync();
            channels.ForEach(c => c.Dispose());
        }

        Assert.Equal(Steps + 1, measured.Frames);
        Assert.Equal(1, measured.Refused);
        var received = python.StdoutLines().Where(l => l.StartsWith("{\"frame\"", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("frame").Clone()).ToList();
        Assert.Equal(Enumerable.Range(0, Steps + 1).Select(s => (long)s), received.Select(f => f.GetProperty("step").GetInt64()));
        foreach (var f in received)
        {
            var step = f.GetProperty("step").GetInt64();
            Assert.Equal(("cs", "py", "interop", "run-1", 3UL), (f.GetProperty("sender").GetString(), f.GetProperty("receiver").GetString(), f.GetProperty("cohort").GetString(), f.GetProperty("run").GetString(), f.GetProperty("generation").GetUInt64()));
            Assert.Equal(step < Steps, f.GetProperty("accepted").GetBoolean());
            if (step < Steps)
            {
                Assert.Equal(sums[step], f.GetProperty("values_sum").GetDouble(), 3);
            }
        }
    }

    [PythonGrpcFact]
    public async Task GeneratedClient_StreamsFramesToAPythonReceiver_AcksInOrder_RefusalInStream()
    {
        const int N = 50, Batch = 128, Classes = 10;
        await using var python = await PythonGrpc.StartServerAsync(null, "--batch", $"{Batch}", "--classes", $"{Classes}");
        var good = ByteString.CopyFrom(Enumerable.Range(0, Batch * Classes * 4).Select(i => (byte)(i * 7)).ToArray());
        LogitsFrame Frame(long step, ByteString values) => new()
        {
            Cohort = "interop", Run = "run-1", Sender = "cs", Receiver = "py", Generation = 1, Step = step,
            Shape = { Batch, Classes }, Dtype = WireDType.Fp32, Values = values,
        };

        using var channel = GrpcChannels.ForAddress(python.Address);
        using var call = new PeerExchange.PeerExchangeClient(channel).Exchange(deadline: DateTime.UtcNow.AddSeconds(60));
        long acked = -1, next = 0;
        var credit = 1;
        while (acked < N - 1)
        {
            while (next < N && next - acked <= credit)
            {
                await call.RequestStream.WriteAsync(Frame(next++, good));
            }

            Assert.True(await call.ResponseStream.MoveNext(), $"the stream ended after the ack of step {acked}");
            var ack = call.ResponseStream.Current;
            Assert.True(ack.Accepted, $"frame {acked + 1} refused: {ack.Reason} (code {ack.RefusedCode})");
            Assert.Equal(acked + 1, ack.Step);
            Assert.True(ack.Credit > 0, $"the ack of step {ack.Step} grants no credit");
            (acked, credit) = (ack.Step, ack.Credit);
        }

        await call.RequestStream.WriteAsync(Frame(N, ByteString.CopyFrom(good.ToByteArray(), 0, good.Length - 100)));
        Assert.True(await call.ResponseStream.MoveNext(), "the stream ended without answering the short frame");
        var refusal = call.ResponseStream.Current;
        Assert.False(refusal.Accepted, "the short frame was accepted");
        Assert.Equal((int)StatusCode.InvalidArgument, refusal.RefusedCode);
        Assert.Equal(N - 1, refusal.Step);
        Assert.Contains("5020 bytes", refusal.Reason, StringComparison.Ordinal);

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(), "an ack came after the half-close");
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task HealthAndReflection_AnswerTheOfficialClients_OnCoordinatorAndWorkerProcesses()
    {
        using var dir = new TempDirectory("peerdistill-interop-health-");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        foreach (var (who, address, services) in await ProcessesAsync(cluster))
        {
            // Grpc.HealthCheck and Grpc.Reflection, the official C# clients of the two services.
            // The coordinator's reflection answers readers only; health answers everyone.
            using var channel = GrpcChannels.ForAddress(address, who == "coordinator" ? cluster.Token : null);
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            var unknown = await Assert.ThrowsAsync<RpcException>(async () => await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }, deadline: DateTime.UtcNow.AddSeconds(10)));
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

            using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(10));
            await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
            Assert.True(await reflection.ResponseStream.MoveNext());
            var listed = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
            await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = services[0] });
            Assert.True(await reflection.ResponseStream.MoveNext());
            var files = reflection.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto;
            await reflection.RequestStream.CompleteAsync();
            output.WriteLine($"{who}: health SERVING; reflection lists {string.Join(", ", listed)}; {services[0]} is described in {files.Count} file(s)");
            Assert.All(services.Append("grpc.health.v1.Health"), s => Assert.Contains(s, listed));
            Assert.NotEmpty(files);
        }
    }

    [PythonGrpcFact]
    public async Task HealthAndReflection_AnswerPythonGrpcio_OnCoordinatorAndWorkerProcesses()
    {
        using var dir = new TempDirectory("peerdistill-interop-health-py-");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        foreach (var (who, address, services) in await ProcessesAsync(cluster))
        {
            // Generic calls with the two services' messages encoded by hand (Debian has no stubs for them).
            foreach (var @case in new[] { "health", "reflection" })
            {
                string[] token = who == "coordinator" ? ["--token", cluster.Token] : [];
                var result = await PythonGrpc.RunClientAsync(Target(address), @case, TimeSpan.FromSeconds(60), ["--expect", string.Join(',', services), .. token]);
                output.WriteLine($"{who}: python {@case}: {result.Detail}");
                Assert.True(result.Passed, $"{who}: {result.Describe()}");
            }
        }
    }

    /// <summary>The coordinator and a worker of <paramref name="cluster"/>, with the project's services each serves.</summary>
    private static async Task<(string Who, string Address, string[] Services)[]> ProcessesAsync(Cluster cluster) =>
    [
        ("coordinator", cluster.Url, ["peerdistill.v1.CohortService"]),
        ("worker", await StartWorkerAsync(cluster, "w1", slots: 1), ["peerdistill.v1.PeerExchange"]),
    ];

    private static string Target(string address) => new Uri(address).Authority;

    private static async Task<string> StartWorkerAsync(Cluster cluster, string id, int slots)
    {
        cluster.StartWorker(id, slots);
        return await cluster.WorkerAddressAsync(id);
    }
}
