using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// What an operator does to workers, and what an outsider's script sends them, with real processes
/// on loopback: SIGTERM to a worker whose peer is busy training, a second worker that takes a live
/// one's id, a teacher re-activated far behind the peer that learns from it, and frames forged as a
/// teacher's in bursts at random moments. Every moment a test acts at is one a process reported.
/// </summary>
public sealed partial class WorkerLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermToAWorkerWhosePeerTrains_StopsThePeerWithinAStep_ExitsInSeconds_AndThePeerResumesThereElsewhere()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair);
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2", "w3"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "pair" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.Count == 2 && s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 50, TimeSpan.FromMinutes(2));
        var victim = status.Peers.Single(p => p.Peer == "a");

        // The peer is busy: thousands of steps to go, its teacher live beside it.
        var clock = Stopwatch.StartNew();
        cluster.Signal(victim.WorkerId, "TERM");
        Assert.True(cluster.WaitForExit(victim.WorkerId, TimeSpan.FromSeconds(60)), "the worker did not exit within 60 s of SIGTERM");
        var exit = clock.Elapsed;
        Assert.True(exit < TimeSpan.FromSeconds(15), $"the worker took {exit.TotalSeconds:F1} s to exit after SIGTERM");
        Assert.Equal(130, cluster.Worker(victim.WorkerId).ExitCode);

        // It said at which step it told the peer to stop; the peer completed at most the step it was in.
        await cluster.WaitForLineAsync(victim.WorkerId, $"worker '{victim.WorkerId}' stopped (SIGTERM received)", 1, TimeSpan.FromSeconds(10));
        var told = StoppingAt().Match(cluster.Lines(victim.WorkerId, $"worker '{victim.WorkerId}' stopping (SIGTERM received)").Single());
        Assert.True(told.Success, "no step in the stopping line");
        var toldAt = long.Parse(told.Groups[1].Value, CultureInfo.InvariantCulture);
        var runDir = Directory.GetDirectories(Path.Combine(cluster.Runs, "pair")).Single();
        var checkpoints = Directory.GetFiles(Path.Combine(runDir, "checkpoints", status.Run, "a"), "step-*.ckpt");
        var checkpoint = checkpoints.Select(f => long.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture)).Max();
        output.WriteLine($"SIGTERM to {victim.WorkerId}: 'a' told at step {toldAt}, checkpoint of step {checkpoint}; process exited {exit.TotalSeconds:F2} s after the signal");
        Assert.InRange(checkpoint, toldAt, toldAt + 1);

        // Its cohort re-activates it on the spare worker, from exactly that checkpoint.
        status = await cluster.WaitForAsync(request, s => s.Events.Any(e => e.Peer == "a" && e.Kind == "reactivated"), TimeSpan.FromSeconds(60));
        var reactivated = status.Events.Last(e => e.Peer == "a" && e.Kind == "reactivated");
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"resuming from step {checkpoint} "), reactivated.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"on worker '{victim.WorkerId}'", reactivated.Message, StringComparison.Ordinal);
        await CancelAsync(cluster, "pair");
    }

    [Fact]
    public async Task SecondWorkerWithALiveWorkersId_IsRefusedAtJoin_AndStatusesNameTheProcessOfEachPeer()
    {
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, TimeSpan.FromSeconds(60));

        cluster.StartWorker("w1", key: "impostor");
        Assert.True(cluster.WaitForExit("impostor", TimeSpan.FromSeconds(120)), "a second worker with id 'w1' stayed up");
        Assert.Equal(2, cluster.Worker("impostor").ExitCode);
        Assert.Single(cluster.Lines("impostor", "error: worker id 'w1' is taken"));
        Assert.Equal(0, cluster.Printed("impostor", "joined the cluster"));
        Assert.False(cluster.Worker("w1").HasExited);

        // A cohort placed now lands on the two real workers; its status names each peer's process.
        var silos = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var w in new[] { "w1", "w2" })
        {
            var match = SiloOf().Match(cluster.Lines(w, "joined the cluster").Single());
            Assert.True(match.Success, $"{w} printed no silo address");
            silos[w] = match.Groups[1].Value;
        }

        var run = CliProcess.RunIn(dir.Path, "submit", Path.Combine(CliProcess.Examples, "smoke.yaml"), "--coordinator", cluster.Url, "--wait");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        var status = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "smoke" }, s => s.State == CohortState.Completed, TimeSpan.FromSeconds(30));
        Assert.All(status.Peers, p => Assert.Equal(silos[p.WorkerId], p.WorkerSilo));
        var printed = CliProcess.RunIn(dir.Path, "status", "smoke", "--coordinator", cluster.Url);
        Assert.True(printed.ExitCode == 0, printed.Stderr);
        Assert.All(status.Peers, p => Assert.Contains($"{p.WorkerId}@{p.WorkerSilo.Split('@')[0]}", printed.Stdout, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TeacherReactivatedFarBehind_ThePeersAheadGoOnAtOnce_WithoutWaitingForItToCatchUp()
    {
        const int Gap = 3000;
        // Three peers: when 'a' is behind, 'b' and 'c' still have each other (the quorum of one
        // teacher is met), so nothing but the rule under test makes them wait for 'a'. A 2 s step
        // timeout: a teacher expected to catch up within half of it (its gap times the learner's
        // own step time) is waited for (see ExchangeHubTests), so 'a' must be further behind than
        // that on any machine: 3,000 steps of these small mlps take about 4 s of compute here, and
        // more than 1 s unless a step takes less than a third of a millisecond (at 1,000 steps a
        // machine a third faster than this one already waited for 'a', rightly).
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "trio.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("cohort: pair", "cohort: trio", StringComparison.Ordinal).Replace("step_timeout_seconds: 600", "step_timeout_seconds: 2", StringComparison.Ordinal).Replace(
            "distillation:",
            "  - {name: c, model: mlp, model_options: {widths: [32]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 3}\ndistillation:",
            StringComparison.Ordinal));
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2", "w3", "w4"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "trio" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.Count == 3 && s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= Gap, TimeSpan.FromMinutes(5));

        // 'a' is lost; with no checkpoint it starts again from step 0, thousands of steps behind the others.
        cluster.Kill(status.Peers.Single(p => p.Peer == "a").WorkerId);
        status = await cluster.WaitForAsync(request, s => s.Events.Any(e => e.Peer == "a" && e.Kind == "reactivated"), TimeSpan.FromSeconds(60));
        Assert.Contains("from scratch", status.Events.Last(e => e.Peer == "a" && e.Kind == "reactivated").Message, StringComparison.Ordinal);
        var back = cluster.LineCount;

        // Wait until 'a' has caught up with where 'b' was when 'a' started again, then compare the records.
        var runDir = Directory.GetDirectories(Path.Combine(cluster.Runs, "trio")).Single();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (aSteps, aStarted) = StepTimes(Path.Combine(runDir, "metrics.a.jsonl"), generation: 2);
            var (bSteps, _) = StepTimes(Path.Combine(runDir, "metrics.b.jsonl"), generation: 1);
            var (cSteps, _) = StepTimes(Path.Combine(runDir, "metrics.c.jsonl"), generation: 1);
            var started = aStarted ?? DateTimeOffset.MaxValue;
            var behind = bSteps.Where(s => s.Value <= started).Select(s => s.Key).DefaultIfEmpty(-1).Max();
            if (aStarted is not null && behind >= 0 && aSteps.TryGetValue(behind, out var caughtUp))
            {
                // While 'a' caught up, 'b' and 'c' trained on: in the second half of that time too,
                // long after every worker heard that 'a' is back (and behind).
                var half = started + ((caughtUp - started) / 2);
                int During(Dictionary<long, DateTimeOffset> steps) => steps.Count(s => s.Key > behind && s.Value > half && s.Value < caughtUp);
                output.WriteLine($"'a' started again while 'b' was at step {behind}; it caught up in {(caughtUp - started).TotalSeconds:F2} s, in the second half of which 'b' completed {During(bSteps)} steps and 'c' {During(cSteps)}");
                Assert.True(During(bSteps) >= 20, $"'b' completed {During(bSteps)} steps in the second half of the {(caughtUp - started).TotalSeconds:F1} s 'a' took to catch up from step 0 to {behind}: it waited for a teacher it knew was behind");
                Assert.True(During(cSteps) >= 20, $"'c' completed {During(cSteps)} steps in the second half of the {(caughtUp - started).TotalSeconds:F1} s 'a' took to catch up from step 0 to {behind}: it waited for a teacher it knew was behind");
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"'a' did not catch up with step {behind} of 'b' in 3 minutes");
            await Task.Delay(500);
        }

        foreach (var peer in new[] { "b", "c" })
        {
            // (Before 'a' came back they waited the 2 s timeout for it once: it was lost, not yet known to be.)
            Assert.DoesNotContain(cluster.LinesSince(back, status.Peers.Single(p => p.Peer == peer).WorkerId), l => l.Contains("live teacher(s) after waiting", StringComparison.Ordinal));
        }

        await CancelAsync(cluster, "trio");
    }

    [Fact]
    public async Task FramesForgedAsATeacherInBurstsFromAScript_NoPeerIsLeftWithoutProgress_AndTheCohortCompletes()
    {
        const int Episodes = 30;
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "forged.yaml");
        // A short step timeout: any peer that lost its teacher's real frame must have gone on by then.
        // 'b' is a cnn, a few times slower a step than 'a' (as in the cohort the stall was seen in).
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("cohort: pair", "cohort: forged", StringComparison.Ordinal).Replace("model: mlp, model_options: {widths: [48]}", "model: cnn", StringComparison.Ordinal).Replace("epochs: 200", "epochs: 30", StringComparison.Ordinal).Replace("step_timeout_seconds: 600", "step_timeout_seconds: 3", StringComparison.Ordinal));
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "forged" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.Count == 2 && s.Peers.All(p => p.State == PeerState.Active && p.Step >= 5), TimeSpan.FromMinutes(2));

        // The script: in each episode, frames that pose as one peer to the other (right names,
        // generation and next steps, random values) from the receiver's current step, for as long
        // as the receiver takes them; then a pause; then it stops for good.
        // It holds the genuine tickets of both peers (stolen, say; the operator signs them with the
        // cluster's key): without them no frame of it would be read at all.
        var codec = new PeerDistill.Cluster.Exchange.TicketCodec(await ClusterTickets.ReadKeyAsync(Path.Combine(dir.Path, "data"), TimeSpan.FromSeconds(30)));
        var random = new Random(19);
        var accepted = 0;
        for (var episode = 0; episode < Episodes; episode++)
        {
            var receiver = status.Peers[random.Next(2)];
            var teacher = status.Peers.Single(p => p.Peer != receiver.Peer);
            using var channel = GrpcChannels.ForAddress(await cluster.WorkerAddressAsync(receiver.WorkerId));
            var client = new PeerExchange.PeerExchangeClient(channel);
            var probe = await client.ProbeAsync(new ProbeRequest { Cohort = "forged" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
            if (probe.Peers.SingleOrDefault(p => p.Name == receiver.Peer) is not { } hosted)
            {
                break;
            }

            var ticket = new Metadata { { PeerDistill.Cluster.Exchange.ExchangeTicket.Header, codec.Issue("forged", status.Run, teacher.Peer, teacher.Generation) } };
            using var call = client.Exchange(new CallOptions(ticket, deadline: DateTime.UtcNow.AddSeconds(30)));
            var lead = random.Next(2, 60);
            for (var step = hosted.Step + random.Next(-1, 2); step < Math.Min(receiver.TotalSteps, hosted.Step + lead); step++)
            {
                try
                {
                    await call.RequestStream.WriteAsync(Forged("forged", status.Run, teacher, receiver.Peer, step, random));
                    if (!await call.ResponseStream.MoveNext())
                    {
                        break;
                    }

                    accepted += call.ResponseStream.Current.Accepted ? 1 : 0;
                }
                catch (RpcException)
                {
                    break;
                }
            }

            await call.RequestStream.CompleteAsync();
            await Task.Delay(random.Next(0, 300));
        }

        output.WriteLine($"{Episodes} episodes of forged frames: {accepted} accepted");
        Assert.True(accepted >= 10, $"only {accepted} forged frames were taken: the script did not pose as the teacher");
        // However slow the machine, the run ends as long as it moves; two minutes in which neither
        // peer reports a new step is the stall.
        var moved = Stopwatch.StartNew();
        long progress = -1;
        while (status.State is not (CohortState.Completed or CohortState.Failed or CohortState.Cancelled))
        {
            status = await cluster.WaitForAsync(request, _ => true, TimeSpan.FromSeconds(30));
            if (status.Peers.Sum(p => p.Step) != progress)
            {
                (progress, moved) = (status.Peers.Sum(p => p.Step), Stopwatch.StartNew());
            }

            Assert.True(moved.Elapsed < TimeSpan.FromMinutes(2), $"the cohort stalled: {status}");
            await Task.Delay(1000);
        }

        Assert.Equal(CohortState.Completed, status.State);

        // The cohort never stood still: at every moment one of the peers was making progress (a
        // peer driven ahead by forged frames waits, legitimately, while its slower teacher computes
        // the steps it skipped; two peers waiting on each other is the stall). And a peer that
        // waited longer than the stall warning said so, naming its teacher.
        var runDir = Directory.GetDirectories(Path.Combine(cluster.Runs, "forged")).Single();
        var times = new List<DateTimeOffset>();
        foreach (var peer in new[] { "a", "b" })
        {
            var (steps, _) = StepTimes(Path.Combine(runDir, $"metrics.{peer}.jsonl"), generation: 1);
            var ordered = steps.OrderBy(s => s.Key).Select(s => s.Value).ToList();
            var longest = ordered.Zip(ordered.Skip(1), (x, y) => y - x).Max();
            output.WriteLine($"'{peer}': longest time between two of its steps {longest.TotalSeconds:F2} s");
            if (longest > TimeSpan.FromSeconds(11))
            {
                var teacher = peer == "a" ? "b" : "a";
                var worker = status.Peers.Single(p => p.Peer == peer).WorkerId;
                Assert.Contains(cluster.Lines(worker, $"peer '{peer}' has waited"), l => l.Contains($"'{teacher}'", StringComparison.Ordinal));
            }

            times.AddRange(ordered);
        }

        times.Sort();
        var still = times.Zip(times.Skip(1), (x, y) => y - x).Max();
        output.WriteLine($"longest time in which neither peer completed a step: {still.TotalSeconds:F2} s");
        Assert.True(still < TimeSpan.FromSeconds(3 + 10), $"neither peer completed a step for {still.TotalSeconds:F1} s (step timeout 3 s)");
    }

    /// <summary>When each step of one generation of a peer completed (its <c>started</c> event plus the step's elapsed time), and when that generation started.</summary>
    private static (Dictionary<long, DateTimeOffset> Steps, DateTimeOffset? Started) StepTimes(string metrics, int generation)
    {
        var steps = new Dictionary<long, DateTimeOffset>();
        DateTimeOffset? started = null;
        var generations = 0;
        if (!File.Exists(metrics))
        {
            return (steps, null);
        }

        using var stream = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.EndsWith('}'))
            {
                break; // A line being written.
            }

            var e = JsonDocument.Parse(line).RootElement;
            var type = e.GetProperty("type").GetString();
            if (type == "event" && e.GetProperty("event").GetString() is "started" or "resumed")
            {
                generations++;
                if (generations == generation)
                {
                    started = DateTimeOffset.Parse(e.GetProperty("time").GetString()!, CultureInfo.InvariantCulture);
                }
            }
            else if (type == "step" && generations == generation && started is { } at)
            {
                steps[e.GetProperty("step").GetInt64()] = at + TimeSpan.FromSeconds(e.GetProperty("elapsed_s").GetDouble());
            }
        }

        return (steps, started);
    }

    private static LogitsFrame Forged(string cohort, string run, PeerStatus teacher, string receiver, long step, Random random)
    {
        // TestSpecs.Pair's data: 2000 training images in batches of 32 (the last of an epoch 16), 10 classes.
        const int Images = 2000, Batch = 32, Classes = 10;
        const int PerEpoch = (Images + Batch - 1) / Batch;
        var rows = step % PerEpoch == PerEpoch - 1 ? Images - ((PerEpoch - 1) * Batch) : Batch;
        var frame = new LogitsFrame
        {
            Cohort = cohort,
            Run = run,
            Sender = teacher.Peer,
            Receiver = receiver,
            Generation = teacher.Generation,
            Step = step,
            Epoch = (int)(step / PerEpoch),
            BatchIndex = (int)(step % PerEpoch),
            Dtype = WireDType.Fp32,
            Values = Google.Protobuf.ByteString.CopyFrom(Enumerable.Range(0, rows * Classes).SelectMany(_ => BitConverter.GetBytes((float)((random.NextDouble() * 20) - 10))).ToArray()),
        };
        frame.Shape.Add(rows);
        frame.Shape.Add(Classes);
        return frame;
    }

    private static async Task CancelAsync(Cluster cluster, string cohort)
    {
        using var channel = cluster.Coordinator();
        await new CohortService.CohortServiceClient(channel).CancelCohortAsync(new CancelCohortRequest { Cohort = cohort, Reason = "test over" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
    }

    [GeneratedRegex(@"'a' at step (\d+)")]
    private static partial Regex StoppingAt();

    [GeneratedRegex(@"silo (\S+) joined the cluster")]
    private static partial Regex SiloOf();
}
