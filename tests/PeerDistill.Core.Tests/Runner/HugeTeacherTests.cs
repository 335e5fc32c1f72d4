using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>
/// A teacher's logits near the float limit, softened by T = 0.5, used to make the student's
/// distillation loss NaN and end it; whatever finite values a teacher sends, the student trains on.
/// </summary>
public class HugeTeacherTests
{
    [Theory]
    [InlineData(3e38f, 0.5)]
    [InlineData(-3e38f, 0.5)]
    [InlineData(1e30f, 0.01)]
    public void HugeFiniteTeacherLogits_StudentTrainsOnWithFiniteLosses(float magnitude, double temperature)
    {
        using var dir = new TempDir();
        var spec = TestSpecs.Synthetic(dir.Path) with
        {
            Distillation = new PeerDistill.Core.Spec.DistillationSpec { Strategy = "dml", Temperature = temperature, Alpha = 1 },
        };
        var data = CohortData.Load(spec.Data);
        var observer = new RecordingObserver();
        using var session = PeerSession.Create(spec.Peers[0], data.Shape, data.Classes, data.TotalSteps);
        var stop = new StopControl(coupled: false);
        stop.StopAt(12);

        var outcome = new PeerStepLoop(session, data, StrategyRegistry.Create(spec), new HugeTeacher(data, magnitude), observer, stop, new CheckpointStore(dir.Path, "run", 1), PeerLoopOptions.For(spec, "run")).Run(CancellationToken.None);

        Assert.Equal(PeerStatus.Interrupted, outcome.Status);
        Assert.Equal(12, outcome.StepsCompleted);
        Assert.All(observer.Steps, s => Assert.True(double.IsFinite(s.Loss) && double.IsFinite(s.Distillation), $"step {s.Step}: loss {s.Loss}, kd {s.Distillation}"));
        Assert.All(observer.Steps, s => Assert.Equal(1, s.Teachers));
    }

    /// <summary>Every step, teacher logits of +-magnitude (one class per row at +magnitude).</summary>
    private sealed class HugeTeacher(CohortData data, float magnitude) : ILogitExchange
    {
        public void Publish(string peer, long step, Tensor logits) => logits.Dispose();

        public void Withdraw(string peer, long step, string reason)
        {
        }

        public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
        {
            var rows = data.Sampler.Batch(step).Length;
            var values = new float[rows * data.Classes];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = i % data.Classes == (i / data.Classes) % data.Classes ? magnitude : -magnitude;
            }

            return from.Select(t => new TeacherLogits(t, step, Tensor.FromArray(values, rows, data.Classes))).ToList();
        }
    }
}
