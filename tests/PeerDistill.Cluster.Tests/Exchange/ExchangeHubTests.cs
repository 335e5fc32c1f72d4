using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Protocol.V1;
using PeerDistill.Cluster.Exchange;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>The receiving side's checks and waiting rules, without the network.</summary>
public sealed class ExchangeHubTests
{
    internal const int Batch = 4;
    internal const int Classes = 3;

    internal static ExchangeHub NewHub(out CohortDirectory directory, TimeSpan? timeout = null, int quorum = 1, int staleness = 0, IEnumerable<PeerLocation>? peers = null)
    {
        directory = new CohortDirectory();
        directory.Update(peers ?? [
            new PeerLocation("a", "http://w1", 1, PeerPresence.Active),
            new PeerLocation("b", "http://w2", 1, PeerPresence.Active),
            new PeerLocation("c", "http://w3", 1, PeerPresence.Active),
        ]);
        var settings = new ExchangeSettings("co", "run1", Classes, _ => Batch, 100, WireDType.Fp32, timeout ?? TimeSpan.FromSeconds(10), quorum, Window: 8, MaxStaleness: staleness);
        var hub = new ExchangeHub(settings, directory, NullLogger.Instance);
        hub.Host("a", 1, ["b", "c"], startStep: 0);
        return hub;
    }

    private static readonly Dictionary<string, object> Streams = new(StringComparer.Ordinal) { ["a"] = new(), ["b"] = new(), ["c"] = new() };

    /// <summary>Delivers a frame as its sender's own network stream would.</summary>
    internal static FrameVerdict Deliver(ExchangeHub hub, LogitsFrame frame) => hub.Deliver(frame, Streams.GetValueOrDefault(frame.Sender) ?? new object());

    /// <summary>Delivers a frame on a stream of its own, as an outsider's script would.</summary>
    internal static FrameVerdict Forge(ExchangeHub hub, LogitsFrame frame) => hub.Deliver(frame, new object());

    internal static LogitsFrame Frame(string sender, long step, float fill = 0.5f, ulong generation = 1, string receiver = "a")
    {
        var frame = new LogitsFrame
        {
            Cohort = "co",
            Run = "run1",
            Sender = sender,
            Receiver = receiver,
            Generation = generation,
            Step = step,
            Dtype = WireDType.Fp32,
            Values = WireCodec.Encode(Enumerable.Repeat(fill, Batch * Classes).ToArray(), WireDType.Fp32),
        };
        frame.Shape.Add(Batch);
        frame.Shape.Add(Classes);
        return frame;
    }

    public static TheoryData<string, StatusCode> BadFrames => new()
    {
        { "wrong cohort", StatusCode.NotFound },
        { "wrong run", StatusCode.NotFound },
        { "unknown receiver", StatusCode.NotFound },
        { "unknown sender", StatusCode.PermissionDenied },
        { "stale generation", StatusCode.FailedPrecondition },
        { "forged generation", StatusCode.Unavailable },
        { "generation zero", StatusCode.FailedPrecondition },
        { "ahead of the sender's progress", StatusCode.OutOfRange },
        { "step past the run", StatusCode.OutOfRange },
        { "negative step", StatusCode.OutOfRange },
        { "too far ahead", StatusCode.OutOfRange },
        { "wrong class count", StatusCode.InvalidArgument },
        { "wrong batch", StatusCode.InvalidArgument },
        { "three dimensions", StatusCode.InvalidArgument },
        { "wrong dtype", StatusCode.InvalidArgument },
        { "short values", StatusCode.InvalidArgument },
        { "nan", StatusCode.InvalidArgument },
        { "infinity", StatusCode.InvalidArgument },
        { "huge", StatusCode.InvalidArgument },
        { "top-k fields on a dense frame", StatusCode.InvalidArgument },
        { "top-k dtype on a dense cohort", StatusCode.InvalidArgument },
    };

    /// <summary>A bad version of b's frame of step 0 (the good one is b's frame of step 0).</summary>
    internal static LogitsFrame Corrupt(string kind, CohortDirectory directory)
    {
        var f = Frame("b", 0);
        switch (kind)
        {
            case "wrong cohort": f.Cohort = "other"; break;
            case "wrong run": f.Run = "run0"; break;
            case "unknown receiver": f.Receiver = "zed"; break;
            case "unknown sender": f.Sender = "mallory"; break;
            case "stale generation":
                directory.Update([new PeerLocation("b", "http://w4", 2, PeerPresence.Active)]);
                break;
            case "forged generation": f.Generation = 1000; break;
            case "generation zero": f.Generation = 0; break;
            case "ahead of the sender's progress": f.Step = 3; break;
            case "step past the run": f.Step = 100; break;
            case "negative step": f.Step = -1; break;
            case "too far ahead": f.Step = 9; break;
            case "wrong class count": f.Shape[1] = 4; f.Values = WireCodec.Encode(new float[Batch * 4], WireDType.Fp32); break;
            case "wrong batch": f.Shape[0] = 5; f.Values = WireCodec.Encode(new float[5 * Classes], WireDType.Fp32); break;
            case "three dimensions": f.Shape.Add(1); break;
            case "wrong dtype": f.Dtype = WireDType.Fp16; f.Values = WireCodec.Encode(new float[Batch * Classes], WireDType.Fp16); break;
            case "short values": f.Values = ByteString.CopyFrom(new byte[(Batch * Classes * 4) - 4]); break;
            case "nan": f.Values = WireCodec.Encode(Enumerable.Repeat(float.NaN, Batch * Classes).ToArray(), WireDType.Fp32); break;
            case "infinity": f.Values = WireCodec.Encode([.. new float[(Batch * Classes) - 1], float.PositiveInfinity], WireDType.Fp32); break;
            case "huge": f.Values = WireCodec.Encode([.. new float[(Batch * Classes) - 1], -3e38f], WireDType.Fp32); break;
            case "top-k fields on a dense frame": f.Topk = 2; f.Indices = ByteString.CopyFrom(new byte[Batch * 2 * 2]); break;
            case "top-k dtype on a dense cohort": f.Dtype = WireDType.Topk; f.Topk = 2; f.TopkRest = TopKRest.Uniform; (f.Values, f.Indices) = WireCodec.EncodeTopK(new float[Batch * Classes], Classes, 2); break;
            default: throw new ArgumentException(kind);
        }

        return f;
    }

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void BadFrame_IsRefusedWithItsCode_AndTrainingGoesOn(string kind, StatusCode expected)
    {
        var hub = NewHub(out var directory);
        var verdict = Forge(hub, Corrupt(kind, directory));
        Assert.False(verdict.Accepted);
        Assert.Equal(expected, verdict.Code);
        Assert.False(string.IsNullOrWhiteSpace(verdict.Reason));

        // The refused frame changed nothing: the receiving peer still gets good logits from its teachers.
        var good = kind == "stale generation" ? Frame("b", 0, 0.25f, generation: 2) : Frame("b", 0, 0.25f);
        Assert.True(Deliver(hub, good).Accepted);
        Assert.True(Deliver(hub, Frame("c", 0, 0.75f)).Accepted);
        var got = hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.Equal(["b", "c"], got.Select(g => g.Peer));
        Assert.All(got[0].Values, v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Refusal_NamesTheSender()
    {
        var hub = NewHub(out var directory);
        var verdict = Deliver(hub, Corrupt("nan", directory));
        Assert.Contains("'b'", verdict.Reason);
        Assert.Contains("row 0", verdict.Reason);
    }

    [Fact]
    public async Task Gather_WaitsForAnActiveTeacher()
    {
        var hub = NewHub(out _);
        Deliver(hub, Frame("b", 0));
        var gather = Task.Run(() => hub.Gather("a", 0, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted);
        Deliver(hub, Frame("c", 0));
        var result = await gather.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, result.Count);
    }

    [Fact]
    public async Task Gather_GoesOnWithoutAMissingTeacher_WhenTheDirectorySaysItIsLost()
    {
        var hub = NewHub(out var directory);
        Deliver(hub, Frame("b", 0));
        var gather = Task.Run(() => hub.Gather("a", 0, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted);
        directory.Update([new PeerLocation("c", "http://w3", 1, PeerPresence.Missing)]);
        var result = await gather.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["b"], result.Select(g => g.Peer));
    }

    [Fact]
    public async Task FramesClaimingAFutureStep_AreRefused_AndTheReceiverStillWaitsForTheTeacher()
    {
        var hub = NewHub(out _);
        Deliver(hub, Frame("b", 0));
        foreach (var step in new long[] { 1, 3, 8 })
        {
            var forged = Forge(hub, Frame("c", step, 9f));
            Assert.Equal(StatusCode.OutOfRange, forged.Code);
            Assert.Contains("ahead of its progress", forged.Reason, StringComparison.Ordinal);
        }

        var gather = Task.Run(() => hub.Gather("a", 0, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted, "a forged future frame made the receiver stop waiting for its teacher");
        Assert.True(Deliver(hub, Frame("c", 0, 0.75f)).Accepted);
        var result = await gather.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["b", "c"], result.Select(g => g.Peer));

        // The real teacher's frames go on being taken, one step after the other.
        Assert.True(Deliver(hub, Frame("c", 1, 0.5f)).Accepted);
        Assert.True(Deliver(hub, Frame("b", 1, 0.5f)).Accepted);
        Assert.Equal(2, hub.Gather("a", 1, ["b", "c"], CancellationToken.None).Count);
    }

    [Fact]
    public void ASendersOwnStream_MaySkipDroppedSteps_AnotherStreamMustContinueTheSequence()
    {
        var hub = NewHub(out _, staleness: 3);
        Assert.True(Deliver(hub, Frame("b", 0)).Accepted);
        Assert.True(Deliver(hub, Frame("b", 3)).Accepted);

        // A reconnected sender (a new stream) is believed for its next step, not beyond.
        var reconnected = new object();
        Assert.Equal(StatusCode.OutOfRange, hub.Deliver(Frame("b", 5), reconnected).Code);
        Assert.True(hub.Deliver(Frame("b", 4), reconnected).Accepted);
        Assert.True(hub.Deliver(Frame("b", 6), reconnected).Accepted);
        Assert.Equal(StatusCode.OutOfRange, Forge(hub, Frame("b", 8)).Code);
    }

    [Fact]
    public void AFrameClaimingAHigherGeneration_DoesNotDecoupleTheRealTeacher()
    {
        var hub = NewHub(out _);
        var forged = Forge(hub, Frame("c", 0, 9f, generation: 1_000_000));
        Assert.Equal(StatusCode.Unavailable, forged.Code);
        Assert.Contains("the coordinator's current generation of 'c' is 1", forged.Reason, StringComparison.Ordinal);

        Assert.True(Deliver(hub, Frame("b", 0)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 0, 0.75f)).Accepted);
        var got = hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.All(got[1].Values, v => Assert.Equal(0.75f, v));
        Assert.True(Deliver(hub, Frame("c", 1)).Accepted);
    }

    [Fact]
    public void ASecondFrameForAStep_IsRefused_TheFirstIsKept()
    {
        var hub = NewHub(out _);
        Assert.True(Deliver(hub, Frame("b", 0, 0.25f)).Accepted);
        var again = Forge(hub, Frame("b", 0, 9f));
        Assert.Equal(StatusCode.AlreadyExists, again.Code);
        Assert.True(again.Behind);
        Assert.True(Deliver(hub, Frame("c", 0)).Accepted);
        Assert.All(hub.Gather("a", 0, ["b", "c"], CancellationToken.None)[0].Values, v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void ANewGenerationsFrames_ReplaceTheOldOnes_OnceTheCoordinatorAnnouncedIt()
    {
        var hub = NewHub(out var directory);
        Assert.True(Deliver(hub, Frame("b", 0, 0.25f)).Accepted);
        Assert.Equal(StatusCode.Unavailable, Deliver(hub, Frame("b", 0, 0.5f, generation: 2)).Code);
        directory.Update([new PeerLocation("b", "http://w4", 2, PeerPresence.Active)]);
        Assert.True(Deliver(hub, Frame("b", 0, 0.5f, generation: 2)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 0)).Accepted);
        Assert.All(hub.Gather("a", 0, ["b", "c"], CancellationToken.None)[0].Values, v => Assert.Equal(0.5f, v));
    }

    [Fact]
    public async Task Gather_BelowQuorum_WaitsForATeacherToComeBack()
    {
        var hub = NewHub(out var directory, quorum: 1);
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Missing), new PeerLocation("c", "http://w3", 1, PeerPresence.Missing)]);
        var gather = Task.Run(() => hub.Gather("a", 0, ["b", "c"], CancellationToken.None));
        await Task.Delay(400);
        Assert.False(gather.IsCompleted);
        directory.Update([new PeerLocation("b", "http://w5", 2, PeerPresence.Active)]);
        Deliver(hub, Frame("b", 0, generation: 2));
        var result = await gather.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["b"], result.Select(g => g.Peer));
    }

    [Fact]
    public void Gather_FinishedTeachers_DoNotCountAgainstTheQuorum()
    {
        var hub = NewHub(out var directory, quorum: 2);
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Done), new PeerLocation("c", "http://w3", 1, PeerPresence.Done)]);
        var got = hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.Empty(got);
    }

    [Fact]
    public void Gather_AfterTheStepTimeout_StepsWithTheTeachersPresent()
    {
        var hub = NewHub(out _, timeout: TimeSpan.FromMilliseconds(400));
        Deliver(hub, Frame("b", 0));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var got = hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.Equal(["b"], got.Select(g => g.Peer));
        Assert.InRange(clock.ElapsedMilliseconds, 350, 5000);
    }

    [Fact]
    public void FramesBehindTheReceiver_AreRefusedAsOutOfRange()
    {
        var hub = NewHub(out _);
        Deliver(hub, Frame("b", 0));
        Deliver(hub, Frame("c", 0));
        hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        var late = Deliver(hub, Frame("b", 0));
        Assert.Equal(StatusCode.OutOfRange, late.Code);
    }

    [Fact]
    public void Gather_IsCancellable()
    {
        var hub = NewHub(out _);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.ThrowsAny<OperationCanceledException>(() => hub.Gather("a", 0, ["b", "c"], cts.Token));
    }

    [Fact]
    public async Task ATeacherOneStepAhead_IsStillWaitedFor_ItsLogitsAreOnTheirWay()
    {
        // A teacher that learns from this peer completes step 0 as soon as it has this peer's
        // logits of step 0; its own may still be on the wire when the coordinator reports it.
        var hub = NewHub(out var directory);
        directory.Update([new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: 1)]);
        Assert.True(Deliver(hub, Frame("b", 0)).Accepted);
        var gather = Task.Run(() => hub.Gather("a", 0, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted);
        Assert.True(Deliver(hub, Frame("c", 0)).Accepted);
        Assert.Equal(2, (await gather.WaitAsync(TimeSpan.FromSeconds(5))).Count);
    }

    [Fact]
    public void ATeacherWhoseLaterFrameArrived_IsNotWaitedForAStepItDropped()
    {
        var hub = NewHub(out _, timeout: TimeSpan.FromSeconds(30));
        Assert.True(Deliver(hub, Frame("b", 0)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 0)).Accepted);
        hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.True(Deliver(hub, Frame("b", 1)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 2)).Accepted);   // c's frame of step 1 was dropped on its way

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(["b"], hub.Gather("a", 1, ["b", "c"], CancellationToken.None).Select(g => g.Peer));
        Assert.True(clock.ElapsedMilliseconds < 2000, $"waited {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task CatchingUp_DoesNotWaitForTeachersThatCompletedMoreSteps_EvenBelowQuorum()
    {
        var hub = NewHub(out var directory, quorum: 2);
        // The re-activated receiver is at step 5; its teachers report 10 completed steps.
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 10), new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: 10)]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var got = hub.Gather("a", 5, ["b", "c"], CancellationToken.None);
        Assert.Empty(got);
        Assert.True(clock.ElapsedMilliseconds < 2000, $"waited {clock.ElapsedMilliseconds} ms");

        // At the teachers' step it waits for them again.
        var gather = Task.Run(() => hub.Gather("a", 10, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted);
        Assert.True(Deliver(hub, Frame("b", 10)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 10)).Accepted);
        var result = await gather.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, result.Count);
    }

    [Fact]
    public void ATeacherReactivatedFromAnOlderCheckpoint_IsNotWaitedFor_WhileItCatchesUp()
    {
        // 'c' was lost and came back as generation 2 from its checkpoint of step 10; 'a' is at step 50.
        var hub = NewHub(out var directory, timeout: TimeSpan.FromSeconds(30));
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 50), new PeerLocation("c", "http://w5", 2, PeerPresence.Active, Step: 10, WorkerId: "w5")]);
        hub.Host("a", 1, ["b", "c"], startStep: 50);
        Assert.True(Deliver(hub, Frame("b", 50)).Accepted);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(["b"], hub.Gather("a", 50, ["b", "c"], CancellationToken.None).Select(g => g.Peer));
        Assert.True(clock.ElapsedMilliseconds < 2000, $"waited {clock.ElapsedMilliseconds} ms for a teacher 40 steps behind");
    }

    [Fact]
    public async Task ATeacherReactivatedBehind_IsWaitedFor_OnlyWhenItCatchesUpWithinHalfTheTimeout()
    {
        // 'a' takes steps of about 50 ms; the step timeout is 2 s.
        var hub = NewHub(out var directory, timeout: TimeSpan.FromSeconds(2));
        hub.Host("a", 1, ["b", "c"], startStep: 0);
        void Steps(long from, long to, ulong cGeneration)
        {
            for (var step = from; step < to; step++)
            {
                directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: step), new PeerLocation("c", "http://w5", cGeneration, PeerPresence.Active, Step: step)]);
                Assert.True(Deliver(hub, Frame("b", step)).Accepted);
                Assert.True(Deliver(hub, Frame("c", step, generation: cGeneration)).Accepted);
                Assert.Equal(2, hub.Gather("a", step, ["b", "c"], CancellationToken.None).Count);
                Thread.Sleep(50);
            }
        }

        Steps(0, 3, cGeneration: 1);

        // 'c' comes back 3 steps behind: about 0.15 s to catch up, within half the timeout, so 'a'
        // waits for it (and the cohort learns together again).
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 3), new PeerLocation("c", "http://w5", 2, PeerPresence.Active, Step: 0)]);
        Assert.True(Deliver(hub, Frame("b", 3)).Accepted);
        var gather = Task.Run(() => hub.Gather("a", 3, ["b", "c"], CancellationToken.None));
        await Task.Delay(300);
        Assert.False(gather.IsCompleted);
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 3), new PeerLocation("c", "http://w5", 2, PeerPresence.Active, Step: 3)]);
        Assert.True(Deliver(hub, Frame("c", 3, generation: 2)).Accepted);
        Assert.Equal(2, (await gather.WaitAsync(TimeSpan.FromSeconds(5))).Count);

        // 'c' comes back 36 steps behind: about 1.8 s to catch up, more than half the timeout, so 'a'
        // goes on without it at once, not after the timeout.
        Steps(4, 40, cGeneration: 2);
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 40), new PeerLocation("c", "http://w6", 3, PeerPresence.Active, Step: 4)]);
        Assert.True(Deliver(hub, Frame("b", 40)).Accepted);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(["b"], hub.Gather("a", 40, ["b", "c"], CancellationToken.None).Select(g => g.Peer));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"waited {clock.ElapsedMilliseconds} ms for a teacher 36 steps behind (timeout 2 s)");

        // A teacher expected soon that does not come is waited for half the timeout, not all of it.
        Steps(41, 44, cGeneration: 3);
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 44), new PeerLocation("c", "http://w7", 4, PeerPresence.Active, Step: 41)]);
        Assert.True(Deliver(hub, Frame("b", 44)).Accepted);
        clock.Restart();
        Assert.Equal(["b"], hub.Gather("a", 44, ["b", "c"], CancellationToken.None).Select(g => g.Peer));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(1.9));
    }

    [Fact]
    public async Task ABehindTeacher_BelowQuorum_IsWaitedForUntilItCatchesUp_NotTheTimeout_AndTheWaitSaysSo()
    {
        // Only 'c' teaches 'a' here: the quorum of one needs it, so 'a' waits for it to catch up (it
        // does not give up on it, and it does not wait for the step timeout either).
        var hub = NewHub(out var directory, timeout: TimeSpan.FromSeconds(30));
        directory.Update([new PeerLocation("c", "http://w5", 2, PeerPresence.Active, Step: 10, WorkerId: "w5")]);
        hub.Host("a", 1, ["c"], startStep: 50);
        var gather = Task.Run(() => hub.Gather("a", 50, ["c"], CancellationToken.None));
        await WaitUntilAsync(() => hub.WaitOf("a") is not null);

        var wait = hub.WaitOf("a")!;
        Assert.Equal(50, wait.Step);
        Assert.Contains("'c' (generation 2 on worker 'w5', catching up: at step 10)", Assert.Single(wait.Teachers), StringComparison.Ordinal);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        directory.Update([new PeerLocation("c", "http://w5", 2, PeerPresence.Active, Step: 50, WorkerId: "w5")]);
        Assert.True(Deliver(hub, Frame("c", 50, generation: 2)).Accepted);
        Assert.Equal(["c"], (await gather.WaitAsync(TimeSpan.FromSeconds(5))).Select(g => g.Peer));
        Assert.True(clock.ElapsedMilliseconds < 2000, $"took {clock.ElapsedMilliseconds} ms after the teacher caught up");
        Assert.Null(hub.WaitOf("a"));
    }

    [Theory]
    [InlineData(1L, null)]
    [InlineData(0L, 0L)]
    public void ATeacherWhoseLogitsWereSentButLost_IsNotWaitedForPastTheTimeout_EvenBelowQuorum(long teacherStep, long? teacherWaitingAt)
    {
        // 'c' completed step 0 (or waits at step 0 for its own teachers): it published its logits of
        // step 0, and they never arrived. Waiting longer cannot bring them.
        var hub = NewHub(out var directory, timeout: TimeSpan.FromMilliseconds(300));
        directory.Update([new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: teacherStep, WaitingAt: teacherWaitingAt)]);
        hub.Host("a", 1, ["c"], startStep: 0);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Empty(hub.Gather("a", 0, ["c"], CancellationToken.None));
        Assert.InRange(clock.ElapsedMilliseconds, 250, 10_000);
    }

    [Fact]
    public async Task ATeacherThatHasNotSent_BelowQuorum_IsWaitedForPastTheTimeout_AndTheWaitNamesIt()
    {
        var hub = NewHub(out var directory, timeout: TimeSpan.FromMilliseconds(200));
        directory.Update([new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: 0, WorkerId: "w3")]);
        hub.Host("a", 1, ["c"], startStep: 0);
        var gather = Task.Run(() => hub.Gather("a", 0, ["c"], CancellationToken.None));
        await Task.Delay(600);

        Assert.False(gather.IsCompleted);
        Assert.Equal("'c' (active on worker 'w3', at step 0)", Assert.Single(hub.WaitOf("a")!.Teachers));
        Assert.True(Deliver(hub, Frame("c", 0)).Accepted);
        Assert.Equal(["c"], (await gather.WaitAsync(TimeSpan.FromSeconds(5))).Select(g => g.Peer));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the condition did not hold within 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public void BoundedStaleness_NeverWaits_AndTakesEachTeachersFreshestLogitsWithinK()
    {
        var hub = NewHub(out var directory, staleness: 2);
        // The coordinator saw b complete 3 steps and c 1 step.
        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active, Step: 3), new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: 1)]);
        Assert.True(Deliver(hub, Frame("b", 3, 0.3f)).Accepted);
        Assert.True(Deliver(hub, Frame("b", 4, 0.4f)).Accepted);
        Assert.True(Deliver(hub, Frame("c", 1, 0.1f)).Accepted);
        hub.Gather("a", 0, [], CancellationToken.None);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // At step 5: b's freshest is step 4 (1 old); c's step 1 is 4 old, beyond k = 2: not used.
        var got = hub.Gather("a", 5, ["b", "c"], CancellationToken.None);
        Assert.True(clock.ElapsedMilliseconds < 1000, $"waited {clock.ElapsedMilliseconds} ms");
        Assert.Equal([("b", 4L)], got.Select(g => (g.Peer, g.Step)));
        Assert.All(got[0].Values, v => Assert.Equal(0.4f, v));

        // Frames within k behind the receiver are still accepted; older ones are refused.
        directory.Update([new PeerLocation("c", "http://w3", 1, PeerPresence.Active, Step: 4)]);
        Assert.True(Deliver(hub, Frame("c", 4, 0.2f)).Accepted);
        var late = Deliver(hub, Frame("c", 3));
        Assert.Equal(StatusCode.OutOfRange, late.Code);
        Assert.True(late.Behind);
        got = hub.Gather("a", 6, ["b", "c"], CancellationToken.None);
        Assert.Equal([("b", 4L), ("c", 4L)], got.Select(g => (g.Peer, g.Step)));
    }
}
