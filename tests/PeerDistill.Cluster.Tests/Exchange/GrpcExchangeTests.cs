using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;
using PeerDistill.Cluster.Exchange;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>
/// Peers on two "workers" (each a real Kestrel server with its own hub) exchanging logits over
/// gRPC on loopback, stepped by the same loop as the embedded runner.
/// </summary>
public sealed class GrpcExchangeTests
{
    private static string Examples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PeerDistill.sln")))
            {
                return Path.Combine(dir.FullName, "examples");
            }
        }

        throw new DirectoryNotFoundException("repository root not found");
    }

    internal static CohortSpec SmokeSpec(int epochs = 1)
    {
        var result = SpecLoader.Load(Path.Combine(Examples(), "smoke.yaml"));
        Assert.True(result.Spec is not null, string.Join("; ", result.Errors));
        return result.Spec! with { Data = result.Spec!.Data with { Epochs = epochs }, Checkpoints = result.Spec.Checkpoints with { EverySteps = 0 } };
    }

    /// <summary>Passes records on and keeps each peer's completed steps, as a worker's heartbeats tell the coordinator.</summary>
    private sealed class ProgressReports(ICohortObserver inner) : ICohortObserver
    {
        private readonly ConcurrentDictionary<string, long> _completed = new(StringComparer.Ordinal);

        public long Completed(string peer) => _completed.GetValueOrDefault(peer);

        public void OnStep(StepRecord record)
        {
            _completed[record.Peer] = record.Step + 1;
            inner.OnStep(record);
        }

        public void OnEvaluation(EvalRecord record) => inner.OnEvaluation(record);

        public void OnEvent(PeerEvent record) => inner.OnEvent(record);
    }

    internal sealed class Recorder : ICohortObserver
    {
        public ConcurrentQueue<StepRecord> Steps { get; } = new();

        public void OnStep(StepRecord record) => Steps.Enqueue(record);

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
        }
    }

    private static Dictionary<(string, long), double> Losses(IEnumerable<StepRecord> steps) =>
        steps.ToDictionary(s => (s.Peer, s.Step), s => s.Loss);

    [Fact]
    public async Task TwoWorkers_OverLoopback_GiveTheEmbeddedRunnersLosses()
    {
        var spec = SmokeSpec();
        var data = CohortData.Load(spec.Data);
        var strategy = StrategyRegistry.Create(spec);
        var checkpoints = Directory.CreateTempSubdirectory("peerdistill-grpc-exchange-");
        try
        {
            var embedded = new Recorder();
            CohortRunner.Run(spec, data, strategy, "embedded", Path.Combine(checkpoints.FullName, "embedded"), resume: false, embedded, new StopControl());

            var distributed = new Recorder();
            var stats = await RunOnTwoWorkersAsync(spec, data, strategy, distributed, Path.Combine(checkpoints.FullName, "grpc"), run: "grpc-equal-losses");

            var expected = Losses(embedded.Steps);
            var actual = Losses(distributed.Steps);
            Assert.Equal(data.TotalSteps * 2, expected.Count);
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (key, loss) in expected)
            {
                Assert.True(actual[key] == loss, $"{key}: embedded loss {loss:R}, over gRPC {actual[key]:R}");
            }

            // Every step of both peers crossed the wire, and every frame was accepted.
            Assert.Equal(data.TotalSteps * 2, stats.Frames);
            Assert.Equal(0, stats.Refused);
        }
        finally
        {
            checkpoints.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Runs each peer of <paramref name="spec"/> on its own worker (server + hub) in this process;
    /// what a coordinator would report of the peers' progress reaches the directory every 200 ms.
    /// </summary>
    internal static async Task<(long Frames, long Refused)> RunOnTwoWorkersAsync(CohortSpec spec, CohortData data, IDistillationStrategy strategy, ICohortObserver observer, string checkpointDirectory, Action<IReadOnlyList<ExchangeServer>>? whileRunning = null, string run = "grpc")
    {
        // The frames are counted through the exchange's instruments, which are the process's: each caller
        // that runs beside another uses a run id of its own.
        using var measured = new ExchangeMeasurements(spec.Cohort, run);
        var names = spec.Peers.Select(p => p.Name).ToList();
        var settings = ExchangeSettingsFactory.From(spec, data, run);
        var directory = new CohortDirectory();
        var hubs = names.Select(_ => new ExchangeHub(settings, directory, NullLogger.Instance)).ToList();
        var registries = hubs.Select(h =>
        {
            var r = TestTickets.Registry();
            r.Add(h);
            return r;
        }).ToList();
        var servers = new List<ExchangeServer>();
        foreach (var registry in registries)
        {
            servers.Add(await ExchangeServer.StartAsync(registry));
        }

        var channels = new ConcurrentDictionary<string, GrpcChannel>();
        GrpcChannel ChannelFor(string address) => channels.GetOrAdd(address, a => GrpcChannels.ForAddress(a));
        directory.Update(names.Select((n, i) => new PeerLocation(n, servers[i].Address.ToString(), 1, PeerPresence.Active)));
        var learnersOf = GrpcLogitExchange.LearnersOf(strategy, names);
        // Each peer's ticket, issued once (as its cohort does; a new one would move its links to new streams).
        var tickets = names.ToDictionary(n => n, n => TestTickets.Text(spec.Cohort, run, n, 1));
        var exchanges = names.Select((n, i) => new GrpcLogitExchange(hubs[i], servers[i].Address.ToString(), learnersOf, _ => 1, peer => tickets[peer], ChannelFor, NullLogger.Instance)).ToList();
        try
        {
            var store = new CheckpointStore(checkpointDirectory, run, spec.Checkpoints.KeepLast);
            var options = PeerLoopOptions.For(spec, run);
            var outcomes = new PeerOutcome?[names.Count];
            var errors = new ConcurrentQueue<Exception>();
            // Every inbox is open before anyone sends (a worker reports a peer active only once its
            // inbox is open, and peers send only to active peers).
            for (var i = 0; i < names.Count; i++)
            {
                hubs[i].Host(names[i], 1, strategy.Configure(names[i], 0), 0);
                exchanges[i].Prepare(names[i]);
            }

            var progress = new ProgressReports(observer);
            var done = new HashSet<string>(StringComparer.Ordinal);
            void Report()
            {
                lock (done)
                {
                    directory.Update(names.Select((n, i) => new PeerLocation(n, servers[i].Address.ToString(), 1, done.Contains(n) ? PeerPresence.Done : PeerPresence.Active, progress.Completed(n))));
                }
            }

            using var reporting = new CancellationTokenSource();
            var reporter = Task.Run(async () =>
            {
                while (!reporting.IsCancellationRequested)
                {
                    Report();
                    await Task.Delay(200).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            });
            var threads = spec.Peers.Select((peer, i) => new Thread(() =>
            {
                try
                {
                    using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps);
                    outcomes[i] = new PeerStepLoop(session, data, strategy, exchanges[i], progress, new StopControl(coupled: false), store, options).Run(CancellationToken.None);
                    lock (done)
                    {
                        done.Add(peer.Name);
                    }

                    Report();
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            whileRunning?.Invoke(servers);
            threads.ForEach(t => t.Join());
            await reporting.CancelAsync();
            await reporter;
            Assert.Empty(errors);
            Assert.All(outcomes, o => Assert.Equal(PeerDistill.Core.Runner.PeerStatus.Completed, o!.Status));
            foreach (var e in exchanges)
            {
                await e.DisposeAsync();
            }

            return (measured.Frames, measured.Refused);
        }
        finally
        {
            foreach (var c in channels.Values)
            {
                c.Dispose();
            }

            foreach (var s in servers)
            {
                await s.DisposeAsync();
            }
        }
    }
}
