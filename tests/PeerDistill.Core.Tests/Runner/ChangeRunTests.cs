using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>The spec's <c>changes</c> in the embedded runner: applied by every peer at the start of their step, and reproduced by a resume.</summary>
public class ChangeRunTests
{
    // 2,000 training images in batches of 50: 40 steps an epoch, 80 in all.
    private const long ChangeStep = 30;

    [Fact]
    public void AlphaChangeAtStepK_LeavesTheStepsBeforeKAndChangesEveryStepFromK()
    {
        using var plainDir = new TempDir();
        using var changedDir = new TempDir();
        var plain = new RecordingObserver();
        var changed = new RecordingObserver();
        CohortExperiment.Run(TestSpecs.Synthetic(plainDir.Path), new ExperimentOptions(), plain, new StopControl());
        CohortExperiment.Run(WithAlphaChange(changedDir.Path), new ExperimentOptions(), changed, new StopControl());

        var before = plain.Losses();
        var after = changed.Losses();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (key, value) in before)
        {
            if (key.Item3 < ChangeStep)
            {
                Assert.Equal(value, after[key]);
            }
            else
            {
                // The distillation term's weight differs from step k on, so every peer's loss does.
                Assert.NotEqual(value.Item1, after[key].Item1);
            }
        }

        Assert.All(changed.Steps.Where(s => s.Step >= ChangeStep), s => Assert.Equal(0.25, s.Alpha));
        Assert.All(changed.Steps.Where(s => s.Step < ChangeStep), s => Assert.Equal(1, s.Alpha));
    }

    [Fact]
    public void ResumedFromACheckpointBeforeK_GivesTheSameLossesAsTheUninterruptedChangedRun()
    {
        using var fullDir = new TempDir();
        using var splitDir = new TempDir();
        var full = new RecordingObserver();
        CohortExperiment.Run(WithAlphaChange(fullDir.Path), new ExperimentOptions(), full, new StopControl());

        var stop = new StopControl();
        stop.StopAt(ChangeStep - 7);
        var interrupted = CohortExperiment.Run(WithAlphaChange(splitDir.Path), new ExperimentOptions(), new RecordingObserver(), stop);
        Assert.True(interrupted.Interrupted);

        var resumed = new RecordingObserver();
        var result = CohortExperiment.Run(WithAlphaChange(splitDir.Path), new ExperimentOptions { Resume = true }, resumed, new StopControl());
        Assert.Equal(ChangeStep - 7, result.Distilled.ResumedFromStep);
        var expected = full.Losses();
        var actual = resumed.Losses();
        Assert.Contains(actual.Keys, k => k.Item3 >= ChangeStep);
        foreach (var (key, value) in actual)
        {
            Assert.Equal(expected[key], value);
        }
    }

    [Fact]
    public void CadenceAndLearningRateChanges_TakeEffectAtTheirStep()
    {
        using var dir = new TempDir();
        var observer = new RecordingObserver();
        var spec = TestSpecs.Synthetic(dir.Path, epochs: 1) with
        {
            Changes =
            [
                new CohortChange { Step = 10, EvaluationEverySteps = 5, LearningRateScale = 0.5 },
                new CohortChange { Step = 25, EvaluationEverySteps = 0, EvaluationAtEpochEnd = false, CheckpointEverySteps = 4 },
            ],
        };
        CohortExperiment.Run(spec, new ExperimentOptions(), observer, new StopControl());

        Assert.All(observer.Steps, s => Assert.Equal(s.Step < 10 ? 0.003 : 0.0015, s.LearningRate, 12));
        var evaluated = observer.Evaluations.Where(e => !e.Final && e.Peer == "a").Select(e => e.Step).Order();
        // The evaluation after a step follows the cadence of that step: the first under every 5 follows step 14.
        Assert.Equal([15L, 20, 25], evaluated);
        var checkpoints = observer.Events.Where(e => e.Peer == "a" && e.Kind == "checkpoint").Select(e => e.Step).Order();
        Assert.Equal([28L, 32, 36, 40], checkpoints);
    }

    [Fact]
    public void ChangeBeyondTheRun_IsRefusedBeforeAnyStep()
    {
        using var dir = new TempDir();
        var spec = TestSpecs.Synthetic(dir.Path, epochs: 1) with { Changes = [new CohortChange { Step = 40, LearningRateScale = 2 }] };
        var error = Assert.Throws<InvalidOperationException>(() => CohortExperiment.Run(spec, new ExperimentOptions(), new RecordingObserver(), new StopControl()));
        Assert.Contains("changes[0].step: must be below the run's 40 steps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedule_RefusesAStepStartedAndHoldsALoopUntilReleased()
    {
        var schedule = new ChangeSchedule(new StepSettings(1, 0, 2, 1, 0, true, 10));
        schedule.Begin(3);
        Assert.Equal(new ScheduleAnswer(false, 3), schedule.Announce(new CohortChange { Step = 3, Alpha = 0.5 }));
        Assert.Equal(new ScheduleAnswer(true, 3), schedule.Announce(new CohortChange { Step = 5, Alpha = 0.5 }));
        Assert.Equal(1, schedule.Begin(4).Alpha);
        Assert.Equal(new ScheduleAnswer(false, 4), schedule.Hold(4));
        Assert.True(schedule.Hold(6).Accepted);

        using var started = new ManualResetEventSlim();
        var loop = Task.Run(() =>
        {
            schedule.Begin(5);
            started.Set();
            return schedule.Begin(6);
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));

        // Held before step 6 until the cohort decides: the change it commits holds from there.
        var first = await Task.WhenAny(loop, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Assert.NotSame(loop, first);
        Assert.Equal(5, schedule.Started);
        Assert.True(schedule.Commit(new CohortChange { Step = 6, Temperature = 4 }).Accepted);
        var settings = await loop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0.5, 4.0), (settings.Alpha, settings.Temperature));
        Assert.Equal(2, schedule.At(5).Temperature);
    }

    private static CohortSpec WithAlphaChange(string output) =>
        TestSpecs.Synthetic(output) with { Changes = [new CohortChange { Step = ChangeStep, Alpha = 0.25 }] };
}
