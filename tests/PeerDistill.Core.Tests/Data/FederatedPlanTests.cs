using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Tests.Runner;
using Xunit;

namespace PeerDistill.Core.Tests.Data;

/// <summary>The round plan every process derives from the spec: which global step is what, for whom.</summary>
public class FederatedPlanTests
{
    [Fact]
    public void FedMd_RoundLength_IsPublicBatchesPlusTheLongestLocalTraining_AndPublicStepsAreSharedIndices()
    {
        var data = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedMd));
        var f = data.Federation!;
        var sizes = Enumerable.Range(0, 3).Select(i => f.PartitionOf(i).Count).ToList();

        // 700 images, 160 public: 540 private over three participants.
        Assert.Equal(160, f.Public.Count);
        Assert.Equal(540, sizes.Sum());
        var privateSteps = sizes.Select(n => (long)Math.Ceiling(n / 32.0)).ToList();
        Assert.Equal(privateSteps, Enumerable.Range(0, 3).Select(f.PrivateStepsPerRound));
        Assert.Equal(3 + privateSteps.Max(), f.RoundLength);
        Assert.Equal(2 + (2 * f.RoundLength), f.TotalSteps);
        Assert.Equal(f.TotalSteps, data.TotalSteps);

        // Public steps: the first three indices of each round, the public stream continuing after the warm-up's two batches.
        var publicSteps = Enumerable.Range(0, (int)f.TotalSteps).Where(s => f.PublicIndexAt(s) is not null).ToList();
        Assert.Equal([2, 3, 4, 2 + (int)f.RoundLength, 3 + (int)f.RoundLength, 4 + (int)f.RoundLength], publicSteps);
        Assert.Equal([2L, 3, 4, 5, 6, 7], publicSteps.Select(s => f.PublicIndexAt(s)!.Value));
        Assert.All(Enumerable.Range(0, (int)f.TotalSteps), s => Assert.Equal(f.PublicIndexAt(s) is { } k ? f.PublicSampler.Batch(k).Length : 0, data.FrameBatchSizeAt(s)));
        // The next public step after any step (where a sender's next frame is), from -1 (none sent yet) on.
        Assert.All(Enumerable.Range(-1, (int)f.TotalSteps + 1), s => Assert.Equal(publicSteps.Where(p => p > s).Select(p => (long)p).DefaultIfEmpty(f.TotalSteps).First(), f.NextPublicStepAfter(s)));
    }

    [Fact]
    public void FedMd_EachParticipant_DigestsEveryPublicStep_AndTrainsItsWholePartitionOncePerRound_AndSkipsTheRest()
    {
        var data = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedMd));
        var f = data.Federation!;
        for (var i = 0; i < 3; i++)
        {
            var plan = new FederatedStepPlan(data, f.Participants[i], alone: false);
            Assert.Equal(f.PartitionOf(i).Count, plan.PrivateCount);
            var run = Steps(plan);
            var kinds = run.Select(s => (At: s.Step, Step: s.Step2)).ToList();

            var warmup = kinds.Where(k => k.Step.Sampler == f.PublicSampler && !k.Step.Publish).Select(k => k.Step).ToList();
            Assert.Equal(2, warmup.Count);
            Assert.All(warmup, w => Assert.True(w.Train && !w.Gather));
            var digests = kinds.Where(k => k.Step.Publish).ToList();
            Assert.Equal(Enumerable.Range(0, (int)f.TotalSteps).Where(s => f.PublicIndexAt(s) is not null).Select(s => (long)s), digests.Select(d => d.At));
            Assert.All(digests, d => Assert.True(d.Step.Gather && d.Step.IncludeSelf && d.Step.Train && d.Step.Sampler == f.PublicSampler));

            // Per round, the private steps visit every image of the partition exactly once.
            var own = kinds.Where(k => k.Step.Sampler != f.PublicSampler).ToList();
            Assert.Equal(2 * f.PrivateStepsPerRound(i), own.Count);
            foreach (var round in own.GroupBy(k => k.Step.Epoch))
            {
                var visited = round.SelectMany(k => k.Step.Sampler.Batch(k.Step.SamplerEpoch, k.Step.BatchIndex).ToArray()).Order();
                Assert.Equal(Enumerable.Range(0, plan.PrivateCount), visited);
            }

            Assert.All(own, k => Assert.False(k.Step.Publish || k.Step.Gather));
        }
    }

    [Fact]
    public void FedDf_ServerRunsOnlyPublicSteps_ClientsPublishThere_AndBothMeetAtEachRoundsLastPublicStep()
    {
        var data = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedDf));
        var f = data.Federation!;
        Assert.Equal("s", f.Server);
        Assert.Equal(["a", "b", "c"], f.Participants);
        Assert.Equal(0, f.WarmupSteps);

        var server = new FederatedStepPlan(data, "s", alone: false);
        Assert.Equal(0, server.PrivateCount);
        var serverSteps = Steps(server).Select(s => s.Step).ToList();
        var publicSteps = Enumerable.Range(0, (int)f.TotalSteps).Where(s => f.PublicIndexAt(s) is not null).Select(s => (long)s).ToList();
        Assert.Equal(publicSteps, serverSteps);
        // Public steps follow the longest local training in each round.
        Assert.Equal(f.LongestLocal, publicSteps[0]);
        Assert.Equal(publicSteps[0], f.NextPublicStepAfter(-1));
        Assert.Equal(f.RoundLength + f.LongestLocal, f.NextPublicStepAfter(f.RoundLength - 1));
        Assert.All(serverSteps, s => Assert.True(server.At(s).Gather && server.At(s).Train && !server.At(s).IncludeSelf));
        var barriers = publicSteps.Where(f.IsLastPublicOfRound).ToList();
        Assert.Equal([f.RoundLength - 1, (2 * f.RoundLength) - 1], barriers);
        Assert.Equal(barriers, serverSteps.Where(s => server.At(s).Publish));

        var client = new FederatedStepPlan(data, "b", alone: false);
        var clientSteps = Steps(client).ToList();
        Assert.Equal(publicSteps, clientSteps.Where(s => s.Step2.Publish).Select(s => s.Step));
        Assert.All(clientSteps.Where(s => s.Step2.Publish), s => Assert.False(s.Step2.Train));
        Assert.Equal(barriers, clientSteps.Where(s => s.Step2.Gather).Select(s => s.Step));
        Assert.Equal(2 * f.PrivateStepsPerRound(1), clientSteps.Count(s => s.Step2.Train));
    }

    [Fact]
    public void Alone_ParticipantsRunTheirWarmupAndPrivateStepsOnly_AndTheServerNothing()
    {
        var data = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedMd));
        var f = data.Federation!;
        var plan = new FederatedStepPlan(data, "a", alone: true);

        var run = Steps(plan).ToList();
        Assert.Equal(2 + (2 * f.PrivateStepsPerRound(0)), run.Count);
        Assert.All(run, s => Assert.False(s.Step2.Publish || s.Step2.Gather));

        var df = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedDf));
        Assert.Equal(df.TotalSteps, new FederatedStepPlan(df, "s", alone: true).NextAtOrAfter(0));
    }

    [Fact]
    public void RoundEnds_AreFoundOverSkippedIndices_AndCountRounds()
    {
        var data = CohortData.Load(FederatedSpecs.Parse(FederatedSpecs.FedMd));
        var f = data.Federation!;
        var plan = new FederatedStepPlan(data, "a", alone: false);

        Assert.Equal(2, plan.LastEpochEndIn(0, 3));
        Assert.Equal(2 + f.RoundLength, plan.LastEpochEndIn(3, 2 + f.RoundLength + 1));
        Assert.Null(plan.LastEpochEndIn(3, 1 + f.RoundLength));
        Assert.Equal(f.TotalSteps, plan.LastEpochEndIn(0, f.TotalSteps));
        Assert.Equal([0, 0, 1, 2], new[] { 0L, 2, 2 + f.RoundLength, f.TotalSteps }.Select(plan.EpochAfter));
    }

    /// <summary>The indices the plan runs, in order.</summary>
    private static IEnumerable<(long Step, PlannedStep Step2)> Steps(IStepPlan plan)
    {
        for (var s = plan.NextAtOrAfter(0); s < plan.TotalSteps; s = plan.NextAtOrAfter(s + 1))
        {
            yield return (s, plan.At(s));
        }
    }
}
