using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>
/// A peer stopped while it waits for its teachers (a worker's SIGTERM, a Deactivate, a cancel)
/// checkpoints the steps it completed, with the abandoned step undone, and a resume from that
/// checkpoint goes on exactly as an undisturbed run.
/// </summary>
public class StopWhileWaitingTests
{
    private const int BlockAt = 7;
    private const int Steps = 12;

    public static TheoryData<string, string> Models() => new()
    {
        { "resnet8", string.Empty },      // batch-norm statistics change in every forward pass
        { "mlp", "dropout=0.3" },         // the random stream moves in every forward pass
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void StoppedWhileWaiting_CheckpointsCompletedSteps_AndResumesAsAnUndisturbedRun(string model, string options)
    {
        using var dir = new TempDir();
        var peer = TestSpecs.Peer("a", model, 5) with
        {
            ModelOptions = options.Length == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { [options.Split('=')[0]] = options.Split('=')[1] },
        };
        var spec = TestSpecs.Synthetic(dir.Path, peers: [peer, TestSpecs.Peer("b", "mlp", 6)]);
        var data = CohortData.Load(spec.Data);
        var strategy = StrategyRegistry.Create(spec);
        var loop = PeerLoopOptions.For(spec, "run");

        // Undisturbed: steps 0 .. Steps-1.
        var reference = new RecordingObserver();
        Dictionary<string, float[]> referenceState;
        using (var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps))
        {
            var stop = new StopControl(coupled: false);
            stop.StopAt(Steps);
            var store = new CheckpointStore(Path.Combine(dir.Path, "reference"), "run", 3);
            new PeerStepLoop(session, data, strategy, new ScriptedTeacher(data, blockAt: null), reference, stop, store, loop).Run(CancellationToken.None);
            referenceState = StateOf(session.Model);
        }

        // Stopped while waiting for the teacher's logits of step BlockAt.
        var checkpoints = new CheckpointStore(Path.Combine(dir.Path, "stopped"), "run", 3);
        var events = new RecordingObserver();
        PeerOutcome outcome;
        using (var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps))
        {
            using var cancel = new CancellationTokenSource();
            var teacher = new ScriptedTeacher(data, blockAt: BlockAt, onBlock: cancel.Cancel);
            outcome = new PeerStepLoop(session, data, strategy, teacher, events, new StopControl(coupled: false), checkpoints, loop).Run(cancel.Token);
        }

        Assert.Equal(PeerStatus.Interrupted, outcome.Status);
        Assert.Equal(BlockAt, outcome.StepsCompleted);
        Assert.Equal(BlockAt, outcome.CheckpointStep);
        Assert.Equal([BlockAt], checkpoints.List("a").Select(c => c.Step));
        Assert.Contains(events.Events, e => e.Kind == "interrupted" && e.Message.Contains($"waiting for its teachers' logits of step {BlockAt}", StringComparison.Ordinal));

        // Resumed from that checkpoint: the same numbers as the undisturbed run, step for step.
        var resumed = new RecordingObserver();
        Dictionary<string, float[]> resumedState;
        using (var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps))
        {
            session.Restore(checkpoints.PathOf("a", BlockAt));
            Assert.Equal(BlockAt, session.StartStep);
            var stop = new StopControl(coupled: false);
            stop.StopAt(Steps);
            new PeerStepLoop(session, data, strategy, new ScriptedTeacher(data, blockAt: null), resumed, stop, checkpoints, loop).Run(CancellationToken.None);
            resumedState = StateOf(session.Model);
        }

        var expected = reference.Losses();
        var actual = resumed.Losses();
        Assert.Equal(Steps - BlockAt, actual.Count);
        foreach (var (key, losses) in actual)
        {
            Assert.True(expected[key] == losses, $"{key}: undisturbed {expected[key]}, resumed {losses}");
        }

        // Parameters and buffers (batch-norm statistics, which the losses do not show) end the same.
        Assert.Equal(referenceState.Keys, resumedState.Keys);
        foreach (var (name, values) in referenceState)
        {
            Assert.True(values.SequenceEqual(resumedState[name]), $"{name} differs after the resume");
        }
    }

    private static Dictionary<string, float[]> StateOf(Model model)
    {
        var state = model.State();
        try
        {
            return state.ToDictionary(t => t.Name, t => t.Tensor.ToFloatArray());
        }
        finally
        {
            foreach (var t in state)
            {
                t.Tensor.Dispose();
            }
        }
    }

    [Fact]
    public void StoppedWithoutCheckpoint_WritesNone()
    {
        using var dir = new TempDir();
        var spec = TestSpecs.Synthetic(dir.Path);
        var data = CohortData.Load(spec.Data);
        var checkpoints = new CheckpointStore(dir.Path, "run", 3);
        using var session = PeerSession.Create(spec.Peers[0], data.Shape, data.Classes, data.TotalSteps);
        using var cancel = new CancellationTokenSource();
        var stop = new StopControl(coupled: false);
        var teacher = new ScriptedTeacher(data, blockAt: 3, onBlock: () =>
        {
            stop.RequestStop(checkpoint: false);
            cancel.Cancel();
        });

        var outcome = new PeerStepLoop(session, data, StrategyRegistry.Create(spec), teacher, new RecordingObserver(), stop, checkpoints, PeerLoopOptions.For(spec, "run")).Run(cancel.Token);

        Assert.Equal(PeerStatus.Interrupted, outcome.Status);
        Assert.Equal(3, outcome.StepsCompleted);
        Assert.Null(outcome.CheckpointStep);
        Assert.Empty(checkpoints.List(spec.Peers[0].Name));
    }

    /// <summary>Teacher logits made up from the step (the same on every run); at <c>blockAt</c> it waits until cancelled.</summary>
    private sealed class ScriptedTeacher(CohortData data, int? blockAt, Action? onBlock = null) : ILogitExchange
    {
        public void Publish(string peer, long step, Tensor logits) => logits.Dispose();

        public void Withdraw(string peer, long step, string reason)
        {
        }

        public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
        {
            if (step == blockAt)
            {
                onBlock?.Invoke();
                cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
                cancellation.ThrowIfCancellationRequested();
                throw new TimeoutException("the test never cancelled");
            }

            var rows = data.Sampler.Batch(step).Length;
            return from.Select(t => new TeacherLogits(t, step, Tensor.Randn(1000 + step, rows, data.Classes))).ToList();
        }
    }
}
