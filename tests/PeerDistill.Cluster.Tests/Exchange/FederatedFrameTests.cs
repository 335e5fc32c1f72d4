using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>A worker of a federated run takes logits frames of public steps only: a frame of any other step is refused by its shape.</summary>
public sealed class FederatedFrameTests
{
    private const string Spec = """
        cohort: co
        peers:
          - {name: a, model: mlp, model_options: {widths: [16]}}
          - {name: b, model: mlp, model_options: {widths: [16]}}
          - {name: c, model: mlp, model_options: {widths: [16]}}
        distillation:
          strategy: fedmd
          federated: {rounds: 2, public_batches: 3, public_warmup_steps: 2}
        data:
          dataset: synthetic
          batch_size: 32
          public: {count: 100}
          partition: {kind: iid}
          synthetic: {train_count: 400, test_count: 50}

        """;

    [Fact]
    public void FrameOfAPrivateOrWarmupStep_IsRefused_FrameOfAPublicStep_IsTaken()
    {
        var spec = SpecLoader.Parse(Spec, "co.yaml").Spec!;
        var data = CohortData.Load(spec);
        var plan = data.Federation!;
        var settings = ExchangeSettingsFactory.From(spec, data, "run1");
        Assert.True(settings.Window >= (2 * plan.RoundLength) + plan.PublicBatches, $"window {settings.Window} for rounds of {plan.RoundLength} steps");
        var directory = new CohortDirectory();
        directory.Update([
            new PeerLocation("a", "http://w1", 1, PeerPresence.Active),
            new PeerLocation("b", "http://w2", 1, PeerPresence.Active),
            new PeerLocation("c", "http://w3", 1, PeerPresence.Active),
        ]);
        var hub = new ExchangeHub(settings, directory, NullLogger.Instance);
        hub.Host("a", 1, ["b", "c"], startStep: 0);

        // Step 1 is a warm-up step, step 2 + public_batches a private one: no logits may cross at them.
        foreach (var step in new long[] { 1, 2 + plan.PublicBatches })
        {
            Assert.Null(plan.PublicIndexAt(step));
            var refused = hub.Deliver(Frame("b", step, 32, data.Classes));
            Assert.False(refused.Accepted);
            Assert.Equal(StatusCode.InvalidArgument, refused.Code);
            Assert.Contains($"expected [0, {data.Classes}]", refused.Reason, StringComparison.Ordinal);
        }

        // A sender's first frame is of the first public step (after the warm-up), and each next one of
        // the next public step: believed on a stream of its own, with no progress reported yet, as
        // step s + 1 after step s of a peer that runs every step.
        var first = 2L;
        var lastOfRound = first + plan.PublicBatches - 1;
        var next = first + plan.RoundLength;
        Assert.Equal(first + 1, plan.NextPublicStepAfter(first));
        Assert.Equal(next, plan.NextPublicStepAfter(lastOfRound));
        foreach (var step in Enumerable.Range((int)first, plan.PublicBatches).Select(s => (long)s).Append(next))
        {
            var rows = plan.PublicSampler.Batch(plan.PublicIndexAt(step)!.Value).Length;
            var verdict = hub.Deliver(Frame("b", step, rows, data.Classes), new object());
            Assert.True(verdict.Accepted, $"step {step}: {verdict.Reason}");
        }

        // A frame that skips a public step is not believed on a stream that did not carry the previous one.
        var skipping = next + 1 + 1;
        var refusedAhead = hub.Deliver(Frame("c", skipping, plan.PublicSampler.Batch(plan.PublicIndexAt(skipping)!.Value).Length, data.Classes), new object());
        Assert.False(refusedAhead.Accepted);
        Assert.Equal(StatusCode.OutOfRange, refusedAhead.Code);
        Assert.Contains($"its next step is {first}", refusedAhead.Reason, StringComparison.Ordinal);
    }

    private static LogitsFrame Frame(string sender, long step, int rows, int classes)
    {
        var frame = new LogitsFrame
        {
            Cohort = "co",
            Run = "run1",
            Sender = sender,
            Receiver = "a",
            Generation = 1,
            Step = step,
            Dtype = WireDType.Fp32,
            Values = WireCodec.Encode(new float[rows * classes], WireDType.Fp32),
        };
        frame.Shape.Add(rows);
        frame.Shape.Add(classes);
        return frame;
    }
}
