using System.Diagnostics;
using Grpc.Core;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

public sealed class FrameBacklogTests
{
    private static readonly long Later = (long)(FrameBacklog.RecheckInterval.TotalSeconds * Stopwatch.Frequency) + 1;

    [Fact]
    public void RefusedForNow_IsHeld_AndSentAgainAfterTheRecheckInterval_ThenTheNextGoesAtOnce()
    {
        var backlog = new FrameBacklog(capacity: 8);
        var (f5, f6) = (Frame(5), Frame(6));
        Assert.True(backlog.Note(f5, accepted: false, StatusCode.OutOfRange, highest: 4, behind: false, nowTimestamp: 0));
        backlog.Hold(f6);
        Assert.Null(backlog.TakeDue(nowTimestamp: 1));
        Assert.Same(f5, backlog.TakeDue(Later));
        Assert.Null(backlog.TakeDue(Later)); // In flight until its verdict.

        Assert.False(backlog.Note(f5, accepted: true, StatusCode.OK, highest: 5, behind: false, nowTimestamp: Later));
        Assert.Same(f6, backlog.TakeDue(Later));
    }

    [Fact]
    public void Full_DropsTheNewestFrame_SoAReceiverFarBehindGetsItsNextStepsWithoutAGap()
    {
        var backlog = new FrameBacklog(capacity: 3);
        Assert.True(backlog.Note(Frame(10), accepted: false, StatusCode.OutOfRange, highest: 2, behind: false, nowTimestamp: 0));
        foreach (var step in new[] { 11L, 12, 13, 14 })
        {
            backlog.Hold(Frame(step));
        }

        Assert.Equal(3, backlog.Count);
        foreach (var expected in new[] { 10L, 11, 12 })
        {
            var frame = backlog.TakeDue(Later)!;
            Assert.Equal(expected, frame.Step);
            backlog.Note(frame, accepted: true, StatusCode.OK, highest: expected, behind: false, nowTimestamp: Later);
        }

        Assert.True(backlog.IsEmpty);
    }

    [Fact]
    public void ATakenLaterFrame_OrOneTheReceiverIsPast_DropsEveryEarlierFrame()
    {
        var backlog = new FrameBacklog(capacity: 8);
        backlog.Note(Frame(3), accepted: false, StatusCode.Unavailable, highest: 0, behind: false, nowTimestamp: 0);
        backlog.Hold(Frame(4));
        backlog.Hold(Frame(5));
        Assert.False(backlog.Note(Frame(4), accepted: false, StatusCode.OutOfRange, highest: 9, behind: true, nowTimestamp: 0));
        Assert.Equal(1, backlog.Count);
        Assert.Equal(5, backlog.TakeDue(Later)!.Step);
    }

    [Fact]
    public void RefusedForGood_IsDropped_AndCleared_ForgetsEverything()
    {
        var backlog = new FrameBacklog(capacity: 8);
        var f7 = Frame(7);
        backlog.Note(f7, accepted: false, StatusCode.NotFound, highest: 0, behind: false, nowTimestamp: 0);
        backlog.Hold(Frame(8));
        Assert.Same(f7, backlog.TakeDue(Later));
        Assert.False(backlog.Note(f7, accepted: false, StatusCode.InvalidArgument, highest: 0, behind: false, nowTimestamp: Later));
        Assert.Equal(1, backlog.Count);
        backlog.Clear();
        Assert.True(backlog.IsEmpty);
        Assert.Null(backlog.TakeDue(Later));
    }

    private static LogitsFrame Frame(long step) => new() { Cohort = "co", Run = "r", Sender = "s", Receiver = "t", Generation = 1, Step = step };
}
