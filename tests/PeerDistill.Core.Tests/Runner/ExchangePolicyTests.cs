using System.Diagnostics;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>The one exchange policy, and the embedded exchange honouring it (it used to ignore <c>exchange.*</c>).</summary>
public class ExchangePolicyTests
{
    private static readonly TeacherAvailability P = TeacherAvailability.Present;
    private static readonly TeacherAvailability A = TeacherAvailability.Awaited;
    private static readonly TeacherAvailability M = TeacherAvailability.Missing;
    private static readonly TeacherAvailability G = TeacherAvailability.Gone;

    [Fact]
    public void MayStep_WaitsForAwaitedTeachersUntilTheDeadline_NeverBelowTheQuorumOfPossibleTeachers()
    {
        var quorum2 = new ExchangePolicy(TimeSpan.FromSeconds(1), 2, 0);
        Assert.True(quorum2.MayStep([P, P], pastDeadline: false));
        Assert.False(quorum2.MayStep([P, A], pastDeadline: false));
        Assert.False(quorum2.MayStep([P, A], pastDeadline: true));
        Assert.False(quorum2.MayStep([P, M], pastDeadline: true));
        Assert.True(quorum2.MayStep([P, G], pastDeadline: false));
        Assert.True(quorum2.MayStep([G, G], pastDeadline: false));

        var quorum1 = new ExchangePolicy(TimeSpan.FromSeconds(1), 1, 0);
        Assert.False(quorum1.MayStep([P, A], pastDeadline: false));
        Assert.True(quorum1.MayStep([P, A], pastDeadline: true));
        Assert.True(quorum1.MayStep([P, M], pastDeadline: false));
        Assert.False(quorum1.MayStep([M, A], pastDeadline: true));
    }

    [Fact]
    public void From_ReadsTheSpecsExchangeSection()
    {
        var policy = ExchangePolicy.From(new ExchangeSpec { Mode = ExchangeSpec.BoundedStaleness, MaxStaleness = 3, StepTimeoutSeconds = 2.5, Quorum = 2 });
        Assert.Equal(new ExchangePolicy(TimeSpan.FromSeconds(2.5), 2, 3), policy);
        Assert.Equal(7, policy.OldestUsable(10));
        Assert.True(ExchangePolicy.From(new ExchangeSpec()).IsSynchronous);
    }

    [Fact]
    public async Task EmbeddedGather_GoesOnWithoutASilentTeacher_AfterTheStepTimeout()
    {
        using var exchange = new InMemoryLogitExchange(["a", "b", "c"], new ExchangePolicy(TimeSpan.FromMilliseconds(300), 1, 0));
        exchange.Publish("c", 0, Tensor.FromArray(new float[] { 3 }, 1, 1));
        using var never = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var result = await Task.Run(() => exchange.Gather("a", 0, ["b", "c"], never.Token));
        Assert.False(never.IsCancellationRequested, "the gather waited for the silent teacher until the test gave up");
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.Equal("c", Assert.Single(result).Peer);
        result[0].Dispose();
    }

    [Fact]
    public void EmbeddedGather_WithBoundedStaleness_TakesEachTeachersFreshestLogitsWithinTheBound_WithoutWaiting()
    {
        using var exchange = new InMemoryLogitExchange(["a"], new ExchangePolicy(TimeSpan.FromSeconds(30), 1, 2));
        exchange.Publish("b", 3, Tensor.FromArray(new float[] { 3 }, 1, 1));
        exchange.Publish("c", 1, Tensor.FromArray(new float[] { 1 }, 1, 1));
        var result = exchange.Gather("a", 5, ["b", "c"], CancellationToken.None);
        var only = Assert.Single(result);
        Assert.Equal(("b", 3L), (only.Peer, only.Step));
        only.Dispose();
    }
}
