using System.Collections.Concurrent;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Bounded-staleness exchange over two workers on loopback: nobody waits for a slow teacher.</summary>
public sealed class StalenessTests
{
    /// <summary>
    /// Paces the peers by sleeping in their step callbacks (each on its own thread). First both keep
    /// one clock's beat, step k ending no earlier than (k + 1) x <see cref="Beat"/> after the start
    /// (the moment every peer has finished its first step: the workers start their peers apart on a
    /// loaded machine, and a clock started before that paced nobody), so that they stay within a
    /// step of each other however their compute times differ. They keep that beat for at least
    /// <see cref="PacedSteps"/> steps and until each has distilled from the other at least once (the
    /// links are up and each peer's logits reach the other within the staleness bound: in a cold
    /// process on a loaded machine the first frames can take seconds); then the slow one sleeps six
    /// times as long as the other per step. <see cref="PacedUntil"/> says where each stopped pacing.
    /// </summary>
    private sealed class SlowPeer(string peer, int millis, int peers = 2) : ICohortObserver
    {
        public const int PacedSteps = 30;
        private static readonly TimeSpan Beat = TimeSpan.FromMilliseconds(200);
        private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan LinkPatience = TimeSpan.FromSeconds(120);
        private readonly System.Diagnostics.Stopwatch _clock = new();
        private readonly ConcurrentDictionary<string, bool> _started = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _distilled = new(StringComparer.Ordinal);
        private readonly ManualResetEventSlim _allStarted = new();

        private readonly System.Diagnostics.Stopwatch _since = System.Diagnostics.Stopwatch.StartNew();

        public ConcurrentQueue<StepRecord> Steps { get; } = new();

        /// <summary>When each step was recorded, on one clock for both peers.</summary>
        public ConcurrentDictionary<(string Peer, long Step), TimeSpan> RecordedAt { get; } = new();

        /// <summary>Each peer's last step kept to the common beat.</summary>
        public ConcurrentDictionary<string, long> PacedUntil { get; } = new(StringComparer.Ordinal);

        public void OnStep(StepRecord record)
        {
            RecordedAt[(record.Peer, record.Step)] = _since.Elapsed;
            Steps.Enqueue(record);
            if (record.Teachers > 0)
            {
                _distilled.TryAdd(record.Peer, true);
            }

            if (!PacedUntil.ContainsKey(record.Peer) && (record.Step < PacedSteps || _distilled.Count < peers))
            {
                if (record.Step == 0 && _started.TryAdd(record.Peer, true) && _started.Count == peers)
                {
                    _clock.Start();
                    _allStarted.Set();
                }

                if (!_allStarted.Wait(StartPatience))
                {
                    throw new TimeoutException($"{record.Peer}: not every peer finished its first step within {StartPatience.TotalSeconds} s");
                }

                if (_clock.Elapsed > LinkPatience)
                {
                    throw new TimeoutException($"{record.Peer}: in lockstep for {LinkPatience.TotalSeconds} s (step {record.Step}), the peers that distilled from the other are [{string.Join(", ", _distilled.Keys)}]: the logits do not cross");
                }

                var wait = Beat * (record.Step + 1) - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    Thread.Sleep(wait);
                }
            }
            else
            {
                PacedUntil.TryAdd(record.Peer, record.Step - 1);
                Thread.Sleep(record.Peer == peer ? millis : millis / 6);
            }
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
        }
    }

    [Fact]
    public async Task BoundedStaleness_AFastPeerDoesNotWaitForASlowTeacher_AndDistilsFromItWhileWithinK()
    {
        var smoke = GrpcExchangeTests.SmokeSpec(epochs: 2);
        var spec = smoke with { Exchange = new ExchangeSpec { Mode = ExchangeSpec.BoundedStaleness, MaxStaleness = 4 } };
        var data = CohortData.Load(spec.Data);
        var strategy = StrategyRegistry.Create(spec);
        var (fast, slow) = (spec.Peers[0].Name, spec.Peers[1].Name);
        var dir = Directory.CreateTempSubdirectory("peerdistill-staleness-");
        try
        {
            var observer = new SlowPeer(slow, millis: 60);
            await GrpcExchangeTests.RunOnTwoWorkersAsync(spec, data, strategy, observer, dir.FullName);
            var steps = observer.Steps.ToList();
            
            Assert.Equal(data.TotalSteps * 2, steps.Count);
            Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss), $"{s.Peer} step {s.Step}: loss {s.Loss}"));

            // After the paced start, the fast peer runs at its own pace.
            Assert.True(observer.PacedUntil.Count == 2, "a peer never stopped pacing: the run is too short for the lockstep");
            double Unpaced(string peer) => steps.Where(s => s.Peer == peer).Max(s => s.ElapsedSeconds) - steps.Single(s => s.Peer == peer && s.Step == observer.PacedUntil[peer]).ElapsedSeconds;
            var (fastTime, slowTime) = (Unpaced(fast), Unpaced(slow));
            Assert.True(fastTime < 0.6 * slowTime, $"after the paced start the fast peer took {fastTime:F2} s, the slow one {slowTime:F2} s: the fast one waited");

            // The slow peer always has a teacher that is ahead (the fast one's logits of its step
            // arrived long before): it distils on every step after the first few.
            var slowWithTeacher = steps.Count(s => s.Peer == slow && s.Teachers == 1);
            Assert.True(slowWithTeacher > data.TotalSteps / 2, $"slow peer had a teacher on {slowWithTeacher} of {data.TotalSteps} steps");

            // The fast peer uses the slow one's logits only while they are at most 4 steps old:
            // on the steps in lockstep (through a forward pass on the older batch when they are a
            // little older), not once it is far ahead.
            var fastWithTeacher = steps.Where(s => s.Peer == fast && s.Teachers == 1).Select(s => s.Step).ToList();
            Assert.True(fastWithTeacher.Count > 0, "the fast peer never distilled from the slow one");
            Assert.True(fastWithTeacher.Count < data.TotalSteps / 2, $"fast peer had a teacher on {fastWithTeacher.Count} of {data.TotalSteps} steps");
            // (A peer publishes its logits of step x after it recorded step x - 1: when the fast one
            // recorded step t, the slow one's freshest logits were of its last recorded step + 1.)
            long SlowRecordedBefore(TimeSpan at) => steps.Where(s => s.Peer == slow && observer.RecordedAt[(s.Peer, s.Step)] < at).Select(s => s.Step).DefaultIfEmpty(-1).Max();
            var farAhead = steps.Where(s => s.Peer == fast && s.Teachers == 1 && s.Step - (SlowRecordedBefore(observer.RecordedAt[(s.Peer, s.Step)]) + 1) > 4).Select(s => s.Step).ToList();
            Assert.True(farAhead.Count == 0, $"the fast peer distilled from logits older than 4 steps at steps {string.Join(", ", farAhead)}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
