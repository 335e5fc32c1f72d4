using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Generated bad input, bounded in count and time, against real processes: thousands of mutated
/// specs through `validate` and Submit, thousands of mutated frames (and bytes that are no frame at
/// all) into workers while they train. No process dies, no call ends UNKNOWN, every bad frame is
/// refused, and the cohort's per-step losses are those of an undisturbed run.
/// </summary>
public sealed class GeneratedInputTests(ITestOutputHelper output)
{
    private const int Specs = 2000;
    private const int FramesPerWorker = 1500;

    /// <summary>examples/smoke.yaml, long enough to be fuzzed while it trains.</summary>
    private static readonly string LongSmoke = File.ReadAllText(Path.Combine(CliProcess.Examples, "smoke.yaml"))
        .Replace("epochs: 3", "epochs: 10", StringComparison.Ordinal)
        .Replace("output: runs/smoke", "output: runs/long-smoke", StringComparison.Ordinal)
        .Replace("cohort: smoke", "cohort: long-smoke", StringComparison.Ordinal);

    [Fact]
    public async Task MutatedSpecs_ThroughValidateAndSubmit_NoProcessDies_NoUnknownStatus()
    {
        using var dir = new TempDirectory("peerdistill-fuzz-specs-");
        var corpus = Directory.GetFiles(CliProcess.Examples, "*.yaml").Select(File.ReadAllText).Append(LongSmoke).ToList();
        var mutator = new SpecMutator(seed: 20261201, corpus);
        var texts = Enumerable.Range(0, Specs).Select(_ => mutator.Next()).ToList();
        var paths = texts.Select((t, i) => Path.Combine(dir.Path, $"spec-{i:D4}.yaml")).ToList();
        for (var i = 0; i < Specs; i++)
        {
            await File.WriteAllTextAsync(paths[i], texts[i]);
        }

        // validate: one process for every spec; it answers for each and exits normally.
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = CliProcess.RunIn(dir.Path, ["validate", .. paths]);
        output.WriteLine($"validate of {Specs} generated specs: exit {code} in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(code is 0 or 2, $"validate exited {code}\n{stderr[^Math.Min(stderr.Length, 4000)..]}");
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (stdout + "\n" + stderr).Split('\n'))
        {
            var valid = line.IndexOf(": valid cohort", StringComparison.Ordinal);
            var problems = line.IndexOf(" problem(s) in ", StringComparison.Ordinal);
            if (valid > 0)
            {
                answered.Add(line[..valid]);
            }
            else if (problems > 0)
            {
                answered.Add(line[(problems + " problem(s) in ".Length)..].Trim());
            }
        }

        Assert.All(paths, p => Assert.Contains(p, answered));

        // Submit: every reply a verdict on the spec, quickly; the coordinator serves on.
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        using var channel = cluster.Coordinator();
        var codes = new Dictionary<StatusCode, int>();
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < Specs; i++)
        {
            var call = Stopwatch.StartNew();
            StatusCode status;
            try
            {
                await new CohortService.CohortServiceClient(channel).SubmitAsync(new SubmitCohortRequest { SpecText = texts[i] }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));
                status = StatusCode.OK;
            }
            catch (RpcException e)
            {
                status = e.StatusCode;
                Assert.True(status is StatusCode.InvalidArgument or StatusCode.AlreadyExists, $"spec {i} ({paths[i]}): {e.StatusCode}: {e.Status.Detail}");
            }

            codes[status] = codes.GetValueOrDefault(status) + 1;
            slowest = call.Elapsed > slowest ? call.Elapsed : slowest;
        }

        output.WriteLine($"Submit of {Specs} generated specs: {string.Join(", ", codes.Select(kv => $"{kv.Key} {kv.Value}"))}; slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.True(codes.GetValueOrDefault(StatusCode.InvalidArgument) > Specs / 2, "most generated specs should be invalid");
        Assert.False(cluster.CoordinatorProcess.HasExited);
        var listed = await new CohortService.CohortServiceClient(channel).ListCohortsAsync(new ListCohortsRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(codes.GetValueOrDefault(StatusCode.OK), listed.Cohorts.Count);
    }

    [Fact]
    public async Task MutatedFrames_IntoTrainingWorkers_AreAllRefused_AndTheLossesEqualAnUndisturbedRun()
    {
        using var dir = new TempDirectory("peerdistill-fuzz-frames-");
        var spec = Path.Combine(dir.Path, "long-smoke.yaml");
        await File.WriteAllTextAsync(spec, LongSmoke);
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "long-smoke" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active && p.Step >= 5), TimeSpan.FromMinutes(2));

        // smoke's data: 3000 training images in batches of 64, 10 classes.
        const int Images = 3000, Batch = 64, Classes = 10;
        var perEpoch = (Images + Batch - 1) / Batch;
        int BatchAt(long step) => step % perEpoch == perEpoch - 1 ? Images - ((perEpoch - 1) * Batch) : Batch;

        // The fuzzer is an insider: it holds the teacher's genuine ticket (the operator signs it with the
        // cluster's key), so that its frames reach the frame checks; a frame that is not its ticket's
        // (cohort, run, sender or generation) ends its stream with PERMISSION_DENIED.
        var codec = new PeerDistill.Cluster.Exchange.TicketCodec(await ClusterTickets.ReadKeyAsync(Path.Combine(dir.Path, "data"), TimeSpan.FromSeconds(30)));
        var codes = new ConcurrentDictionary<string, int>();
        var sentWhileTraining = 0;
        await Task.WhenAll(new[] { "w1", "w2" }.Select((worker, i) => Task.Run(async () =>
        {
            using var channel = GrpcChannels.ForAddress(await cluster.WorkerAddressAsync(worker));
            var fuzzer = new FrameFuzzer(seed: 7 + i);
            var receiver = status.Peers.Single(p => p.WorkerId == worker);
            var teacher = status.Peers.Single(p => p.WorkerId != worker);
            var ticket = new Metadata { { PeerDistill.Cluster.Exchange.ExchangeTicket.Header, codec.Issue("long-smoke", status.Run, teacher.Peer, teacher.Generation) } };
            var garbage = new Method<byte[], byte[]>(MethodType.DuplexStreaming, PeerExchange.Descriptor.FullName, "Exchange", new Marshaller<byte[]>(b => b, m => m.ToArray()), new Marshaller<byte[]>(b => b, m => m.ToArray()));
            AsyncDuplexStreamingCall<LogitsFrame, ExchangeAck>? call = null;
            FrameTarget? target = null;
            for (var n = 0; n < FramesPerWorker; n++)
            {
                if (n % 100 == 0)
                {
                    var probe = await new PeerExchange.PeerExchangeClient(channel).ProbeAsync(new ProbeRequest { Cohort = "long-smoke" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
                    if (probe.Peers.SingleOrDefault(p => p.Name == receiver.Peer) is not { } hosted)
                    {
                        break;
                    }

                    target = new FrameTarget("long-smoke", status.Run, receiver.Peer, teacher.Peer, teacher.Generation, hosted.Step, receiver.TotalSteps, BatchAt, Classes);
                }

                if (n % 50 == 25)
                {
                    // Bytes that are no frame: the transport refuses the call (INTERNAL), the worker serves on.
                    using var raw = channel.CreateCallInvoker().AsyncDuplexStreamingCall(garbage, null, new CallOptions(ticket, deadline: DateTime.UtcNow.AddSeconds(10)));
                    var e = await Assert.ThrowsAsync<RpcException>(async () =>
                    {
                        await raw.RequestStream.WriteAsync(fuzzer.Garbage(fuzzer.Next(target!).Frame));
                        await raw.ResponseStream.MoveNext();
                        await raw.RequestStream.WriteAsync(fuzzer.Garbage(fuzzer.Next(target!).Frame));
                        await raw.ResponseStream.MoveNext();
                    });
                    Assert.True(e.StatusCode is StatusCode.Internal, $"garbage: {e.StatusCode}: {e.Status.Detail}");
                    codes.AddOrUpdate("call ended: " + e.StatusCode, 1, (_, c) => c + 1);
                }

                var (frame, defects) = fuzzer.Next(target!);
                call ??= new PeerExchange.PeerExchangeClient(channel).Exchange(new CallOptions(ticket, deadline: DateTime.UtcNow.AddMinutes(5)));
                var notItsTickets = frame.Cohort != "long-smoke" || frame.Run != status.Run || frame.Sender != teacher.Peer || frame.Generation != teacher.Generation;
                try
                {
                    await call.RequestStream.WriteAsync(frame);
                    Assert.True(await call.ResponseStream.MoveNext(), $"no ack for a frame with {defects}");
                    Assert.False(notItsTickets, $"a frame with {defects}, not its ticket's, was answered in an ack");
                    var ack = call.ResponseStream.Current;
                    Assert.False(ack.Accepted, $"{worker} accepted a frame with {defects}");
                    var code = (StatusCode)ack.RefusedCode;
                    Assert.True(code is not (StatusCode.OK or StatusCode.Unknown or StatusCode.Internal), $"frame with {defects}: refused with {code}");
                    codes.AddOrUpdate("refused: " + code, 1, (_, c) => c + 1);
                }
                catch (RpcException e)
                {
                    // A frame that is not its ticket's ends the stream (PERMISSION_DENIED), as does a
                    // superseded generation (FAILED_PRECONDITION; with the ticket's generation, none here); nothing else may.
                    Assert.True(e.StatusCode == (notItsTickets ? StatusCode.PermissionDenied : StatusCode.FailedPrecondition), $"frame with {defects}: the call ended with {e.StatusCode}: {e.Status.Detail}");
                    codes.AddOrUpdate("call ended: " + e.StatusCode, 1, (_, c) => c + 1);
                    call.Dispose();
                    call = null;
                }

                Interlocked.Increment(ref sentWhileTraining);
            }

            call?.Dispose();
        })));

        output.WriteLine($"{sentWhileTraining} generated frames sent while the cohort trained: {string.Join(", ", codes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.True(sentWhileTraining >= 1000, $"only {sentWhileTraining} frames were sent before training ended");

        status = await cluster.WaitForAsync(request, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(5));
        Assert.Equal(CohortState.Completed, status.State);
        Assert.False(cluster.Worker("w1").HasExited || cluster.Worker("w2").HasExited || cluster.CoordinatorProcess.HasExited);

        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);
        var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, "embedded"));
        var actual = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(cluster.Runs, "long-smoke")).Single());
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: undisturbed {loss:R}, fuzzed {actual[key]:R}");
        }
    }
}
