using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>
/// Two peers that learn from each other through a worker's exchange (links, hub, directory kept up
/// to date as the coordinator would), while an outsider's script sends frames that pose as one of
/// them to the other (right names, generation and next steps) in bursts at random moments. Run for
/// many seeds: whatever arrives, every gather of every step ends within the step timeout (and a
/// second of slack), and both peers reach the end.
/// </summary>
// Its links send on cohort co, run run1: never beside the classes that count those frames through the process's instruments.
[Collection(ExchangeMeasurementsCollection.Name)]
public sealed class AdversarialFramesTests
{
    private const int Batch = 4;
    private const int Classes = 3;
    private const int Steps = 300;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    private static readonly Dictionary<string, int> ComputeMillis = new(StringComparer.Ordinal) { ["mlp"] = 1, ["cnn"] = 3 };

    // Episodes of the attack per run; after the last one the peers are left alone to finish.
    private const int Episodes = 6;

    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task ForgedFramesInterleavedAtRandom_NoGatherOutlastsTheStepTimeout_BothPeersFinish(int seed)
    {
        const string address = "http://w1:7000/";
        string[] peers = ["mlp", "cnn"];
        var settings = new ExchangeSettings("co", "run1", Classes, _ => Batch, Steps, WireDType.Fp32, StepTimeout, Quorum: 1, Window: 8);
        var directory = new CohortDirectory();
        var hub = new ExchangeHub(settings, directory, NullLogger.Instance);
        var completed = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        void Report() => directory.Update(peers.Select(p => new PeerLocation(p, address, 1, completed.GetValueOrDefault(p) == Steps ? PeerPresence.Done : PeerPresence.Active, completed.GetValueOrDefault(p), "w1", hub.WaitOf(p) is { Published: true } w ? w.Step : null)));
        Report();
        foreach (var p in peers)
        {
            hub.Host(p, 1, peers.Where(q => q != p), startStep: 0);
        }

        var learnersOf = peers.ToDictionary(p => p, p => (IReadOnlyList<string>)peers.Where(q => q != p).ToList());
        await using var exchange = new GrpcLogitExchange(hub, address, learnersOf, _ => 1, _ => string.Empty, _ => throw new InvalidOperationException("both peers are hosted here"), NullLogger.Instance);
        using var done = new CancellationTokenSource();
        var slowest = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);

        // As the coordinator relays the peers' reports (progress, and the step each waits at).
        var reports = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                Report();
                await Task.Delay(20).ConfigureAwait(false);
            }
        });

        // The outsider, in episodes: it drives one peer ahead with frames posing as the other (each
        // burst from the receiver's next step, for as long as the receiver takes them), then lets go
        // for a while (the other catches up), then again, on either peer; then it stops, as the one
        // seen from outside did (a stall it caused must not outlast it).
        var attacks = Task.Run(async () =>
        {
            var random = new Random(seed);
            for (var episode = 0; episode < Episodes && !done.IsCancellationRequested; episode++)
            {
                var receiver = peers[random.Next(2)];
                var sender = peers.Single(p => p != receiver);
                var lead = random.Next(2, 60);
                var start = hub.Hosted().Single(h => h.Name == receiver).Step;
                var stream = new object();
                var stalled = 0;
                while (!done.IsCancellationRequested && stalled < 20)
                {
                    var from = hub.Hosted().Single(h => h.Name == receiver).Step;
                    if (from >= Math.Min(Steps - 1, start + lead))
                    {
                        break;
                    }

                    var taken = 0;
                    for (var s = from + random.Next(-1, 2); s < Math.Min(Steps, start + lead); s++)
                    {
                        taken += hub.Deliver(Frame(sender, receiver, s, random), stream).Accepted ? 1 : 0;
                    }

                    stalled = taken == 0 ? stalled + 1 : 0;
                    await Task.Delay(random.Next(0, 3)).ConfigureAwait(false);
                }

                await Task.Delay(random.Next(0, 200)).ConfigureAwait(false);
            }
        });

        var training = peers.Select(peer => Task.Factory.StartNew(
            () =>
            {
                var teacher = peers.Where(q => q != peer).ToList();
                for (long step = 0; step < Steps; step++)
                {
                    // A step's compute: one peer is three times slower than the other (as a cnn
                    // beside an mlp), so the one driven ahead gets ahead of the other's window.
                    Thread.Sleep(ComputeMillis[peer]);
                    exchange.Publish(peer, step, Tensor.FromSpan(new float[Batch * Classes], [Batch, Classes]));
                    var clock = Stopwatch.StartNew();
                    foreach (var t in exchange.Gather(peer, step, teacher, CancellationToken.None))
                    {
                        t.Dispose();
                    }

                    slowest.AddOrUpdate(peer, clock.Elapsed, (_, before) => clock.Elapsed > before ? clock.Elapsed : before);
                    completed[peer] = step + 1;
                }
            },
            TaskCreationOptions.LongRunning)).ToList();

        var all = Task.WhenAll(training);
        var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(2))) == all;
        await done.CancelAsync();
        await Task.WhenAll(reports, attacks);
        Assert.True(finished, $"seed {seed}: the peers stalled at steps {string.Join(", ", peers.Select(p => $"{p} {completed.GetValueOrDefault(p)}"))} (waiting: {string.Join("; ", peers.Select(p => hub.WaitOf(p) is { } w ? $"{p} at {w.Step} for {string.Join(", ", w.Teachers)}" : $"{p} not waiting"))})");
        await all;
        Assert.All(peers, p => Assert.Equal(Steps, completed[p]));
        Assert.All(peers, p => Assert.True(slowest[p] <= StepTimeout + Slack, $"seed {seed}: '{p}' waited {slowest[p].TotalSeconds:0.00} s in one gather (step timeout {StepTimeout.TotalSeconds} s)"));
    }

    private static LogitsFrame Frame(string sender, string receiver, long step, Random random)
    {
        var frame = new LogitsFrame
        {
            Cohort = "co",
            Run = "run1",
            Sender = sender,
            Receiver = receiver,
            Generation = 1,
            Step = step,
            Dtype = WireDType.Fp32,
            Values = WireCodec.Encode(Enumerable.Range(0, Batch * Classes).Select(_ => (float)random.NextDouble()).ToArray(), WireDType.Fp32),
        };
        frame.Shape.Add(Batch);
        frame.Shape.Add(Classes);
        return frame;
    }
}
