using System.Collections.Concurrent;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>fedmd and feddf through the step loop: what crosses the exchange, the teachers, the noise, and exact resumes.</summary>
public class FederatedRunnerTests
{
    public static TheoryData<string> Strategies() => new() { "fedmd", "feddf" };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void OnlyLogitsOfPublicBatches_AreEverPublished_OnePerParticipantAndPublicStep(string strategy)
    {
        using var dir = new TempDir();
        var spec = FederatedSpecs.Parse(strategy == "fedmd" ? FederatedSpecs.FedMd : FederatedSpecs.FedDf, dir.Path);
        var data = CohortData.Load(spec);
        var f = data.Federation!;
        var published = new ConcurrentQueue<(string Peer, long Step, long[] Shape)>();
        var names = spec.Peers.Select(p => p.Name).ToList();
        var created = StrategyRegistry.Create(spec);
        using var inner = new InMemoryLogitExchange(names.Where(n => created.Configure(n, 0).Count > 0));
        var exchange = new RecordingExchange(inner, published);
        var outcomes = RunLoops(spec, data, created, exchange, dir.Path);

        Assert.All(outcomes, o => Assert.Equal(PeerStatus.Completed, o.Status));
        var publicSteps = Enumerable.Range(0, (int)f.TotalSteps).Where(s => f.PublicIndexAt(s) is not null).Select(s => (long)s).ToList();
        foreach (var (peer, step, shape) in published)
        {
            // Each frame is [public batch, classes] of a public step; no private step ever publishes.
            var k = f.PublicIndexAt(step);
            Assert.True(k is not null, $"{peer} published at step {step}, not a public step");
            Assert.Equal([f.PublicSampler.Batch(k!.Value).Length, data.Classes], shape);
        }

        foreach (var participant in f.Participants)
        {
            Assert.Equal(publicSteps, published.Where(p => p.Peer == participant).Select(p => p.Step).Order());
        }

        if (f.Server is { } server)
        {
            Assert.Equal(publicSteps.Where(f.IsLastPublicOfRound), published.Where(p => p.Peer == server).Select(p => p.Step).Order());
        }
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void StoppedMidRound_WhereSomePeersSkipIndices_ThenResumed_GivesTheUninterruptedNumbers(string strategy)
    {
        using var full = new TempDir();
        using var split = new TempDir();
        var text = strategy == "fedmd" ? FederatedSpecs.FedMd : FederatedSpecs.FedDf;
        var uninterrupted = new RecordingObserver();
        var expected = CohortExperiment.Run(FederatedSpecs.Parse(text, full.Path), new ExperimentOptions(), uninterrupted, new StopControl());

        // Stop inside the second round's private phase, past the smallest partition's last private step.
        var f = CohortData.Load(FederatedSpecs.Parse(text)).Federation!;
        var privateStart = f.WarmupSteps + f.RoundLength + (strategy == "fedmd" ? f.PublicBatches : 0);
        var shortest = Enumerable.Range(0, f.Participants.Count).Min(f.PrivateStepsPerRound);
        var stopAt = privateStart + shortest + ((f.LongestLocal - shortest) / 2);
        Assert.True(shortest < f.LongestLocal, "the partitions should differ in size for this test");
        var stop = new StopControl();
        stop.StopAt(stopAt);
        var interrupted = CohortExperiment.Run(FederatedSpecs.Parse(text, split.Path), new ExperimentOptions(), new RecordingObserver(), stop);
        Assert.True(interrupted.Interrupted);
        Assert.All(interrupted.Distilled.Peers, p => Assert.Equal(stopAt, p.CheckpointStep));

        var resumed = new RecordingObserver();
        var actual = CohortExperiment.Run(FederatedSpecs.Parse(text, split.Path), new ExperimentOptions { Resume = true }, resumed, new StopControl());
        Assert.False(actual.Interrupted);
        Assert.Equal(stopAt, actual.Distilled.ResumedFromStep);
        Assert.Equal(expected.Distilled.Peers.Select(p => p.TestAccuracy), actual.Distilled.Peers.Select(p => p.TestAccuracy));
        var all = uninterrupted.Losses();
        Assert.NotEmpty(resumed.Losses());
        foreach (var (key, value) in resumed.Losses())
        {
            Assert.Equal(all[key], value);
        }

        // The summary holds the partition: class counts per participant that add up to its images.
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(full.Path, "summary.json")));
        var participants = summary.RootElement.GetProperty("federation").GetProperty("participants").EnumerateArray().ToList();
        Assert.Equal(f.Participants, participants.Select(p => p.GetProperty("peer").GetString()));
        Assert.All(participants, p => Assert.Equal(p.GetProperty("images").GetInt32(), p.GetProperty("class_counts").EnumerateArray().Sum(c => c.GetInt32())));
        Assert.True(File.Exists(Path.Combine(full.Path, "partition.svg")));
    }

    [Fact]
    public void FedMdConsensus_IsTheMeanOfEveryParticipantsLogits_DistilledAtT_WithoutCrossEntropy_AsPyTorchComputes()
    {
        var strategy = new FedMdStrategy(new FederatedOptions(["a", "b", "c"], null, Temperature: 2, LabelSmoothing: 0));
        Assert.Equal(["b", "c"], strategy.Configure("a", 0));
        using var student = Tensor.FromArray([0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f], 2, 3);
        using var labels = Tensor.FromArray([2L, 0L], 2);
        TeacherLogits[] arrived =
        [
            new("a", 7, Tensor.FromArray([1.0f, 0.0f, -1.0f, 0.2f, 0.4f, 0.6f], 2, 3)),
            new("b", 7, Tensor.FromArray([-0.5f, 2.0f, 0.5f, 3.0f, -1.0f, 0.0f], 2, 3)),
            new("c", 7, Tensor.FromArray([0.0f, 0.3f, 1.2f, -2.0f, 1.0f, 1.0f], 2, 3)),
        ];

        var plan = strategy.Aggregate("a", 7, arrived);
        using var loss = DistillationLoss.Compute(student, labels, plan.Teachers, plan.Weights, plan.Temperature, plan.Alpha, plan.Form, plan.Combination, plan.LabelSmoothing);

        // /usr/bin/python3 (python3-torch): m = (o0 + o1 + o2) / 3; T = 2;
        // F.kl_div(F.log_softmax(s / T, 1), F.softmax(m / T, 1), reduction='batchmean') * T * T -> 0.7568553686141968,
        // F.cross_entropy(s, y) -> 0.28599196672439575.
        Assert.Equal(0.7568553686141968, loss.Distillation.Item(), 5);
        Assert.Equal(0.28599196672439575, loss.CrossEntropy.Item(), 5);
        Assert.Equal(loss.Distillation.Item(), loss.Total.Item(), 6);
        foreach (var t in arrived)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void FedDf_ServerLearnsFromTheClientsAverage_ClientsOnlyMeetTheServer()
    {
        var strategy = new FedDfStrategy(new FederatedOptions(["a", "b"], "s", Temperature: 1, LabelSmoothing: 0));
        Assert.Equal(["a", "b"], strategy.Configure("s", 0));
        Assert.Equal(["s"], strategy.Configure("a", 0));
        using var student = Tensor.FromArray([0.0f, 0.0f], 1, 2);
        using var labels = Tensor.FromArray([1L], 1);
        using var a = new TeacherLogits("a", 3, Tensor.FromArray([2.0f, 0.0f], 1, 2));
        using var b = new TeacherLogits("b", 3, Tensor.FromArray([0.0f, 0.0f], 1, 2));

        var plan = strategy.Aggregate("s", 3, [a, b]);
        using var loss = DistillationLoss.Compute(student, labels, plan.Teachers, plan.Weights, plan.Temperature, plan.Alpha, plan.Form, plan.Combination, plan.LabelSmoothing);

        // Average logits [1, 0]: p = [e/(e+1), 1/(e+1)]; KL(p || [0.5, 0.5]) = sum p log(2p).
        var p = Math.E / (Math.E + 1);
        var expected = (p * Math.Log(2 * p)) + ((1 - p) * Math.Log(2 * (1 - p)));
        Assert.Equal(expected, loss.Distillation.Item(), 5);
        Assert.Empty(strategy.Aggregate("a", 3, []).Teachers);
    }

    [Fact]
    public void LogitNoise_IsSeededByPeerAndStep_AndHasTheAskedSpread()
    {
        using var logits = Tensor.FromArray(new float[20_000], 2000, 10);
        var noise = new LogitNoise(0.5, peerSeed: 4);

        using var once = noise.Apply(logits, 12);
        using var again = noise.Apply(logits, 12);
        using var later = noise.Apply(logits, 13);
        using var other = new LogitNoise(0.5, peerSeed: 5).Apply(logits, 12);
        using var none = new LogitNoise(0, peerSeed: 4).Apply(logits, 12);

        Assert.True(Tensor.Equal(once, again));
        Assert.False(Tensor.Equal(once, later));
        Assert.False(Tensor.Equal(once, other));
        Assert.True(Tensor.Equal(none, logits));
        var values = once.ToFloatArray();
        var mean = values.Average();
        var sd = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(sd, 0.49, 0.51);
    }

    private static PeerOutcome[] RunLoops(CohortSpec spec, CohortData data, IDistillationStrategy strategy, ILogitExchange exchange, string directory)
    {
        var store = new CheckpointStore(Path.Combine(directory, "checkpoints"), "run", 2);
        var options = PeerLoopOptions.For(spec, "run");
        var stop = new StopControl();
        var outcomes = new PeerOutcome[spec.Peers.Count];
        var threads = spec.Peers.Select((peer, i) => new Thread(() =>
        {
            using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps);
            outcomes[i] = new PeerStepLoop(session, data, strategy, exchange, new RecordingObserver(), stop, store, options).Run(CancellationToken.None);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return outcomes;
    }

    /// <summary>An exchange that notes what each peer publishes (peer, step, shape) and passes everything on.</summary>
    private sealed class RecordingExchange(ILogitExchange inner, ConcurrentQueue<(string Peer, long Step, long[] Shape)> published) : ILogitExchange
    {
        public void Publish(string peer, long step, Tensor logits)
        {
            published.Enqueue((peer, step, logits.Shape));
            inner.Publish(peer, step, logits);
        }

        public void Withdraw(string peer, long step, string reason) => inner.Withdraw(peer, step, reason);

        public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation) =>
            inner.Gather(peer, step, from, cancellation);
    }
}
