using PeerDistill.Core.Exchange;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

public class ExchangeTests
{
    [Fact]
    public async Task Gather_WaitsForThePublisher()
    {
        using var exchange = new InMemoryLogitExchange(["a", "b"]);
        var gathered = Task.Run(() => exchange.Gather("a", 0, ["b"], CancellationToken.None));
        await Task.Delay(100);
        Assert.False(gathered.IsCompleted);
        exchange.Publish("b", 0, Tensor.FromArray(new float[] { 1, 2 }, 1, 2));
        var result = await gathered.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new float[] { 1, 2 }, Assert.Single(result).Logits.ToFloatArray());
        result[0].Dispose();
    }

    [Fact]
    public async Task Withdraw_ReleasesWaitersWithoutThatPeer()
    {
        using var exchange = new InMemoryLogitExchange(["a", "b", "c"]);
        exchange.Publish("c", 5, Tensor.FromArray(new float[] { 3 }, 1, 1));
        var gathered = Task.Run(() => exchange.Gather("a", 5, ["b", "c"], CancellationToken.None));
        await Task.Delay(100);
        Assert.False(gathered.IsCompleted);
        exchange.Withdraw("b", 4, "failed");
        var result = await gathered.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("c", Assert.Single(result).Peer);
    }

    [Fact]
    public void Gather_ObservesCancellation()
    {
        using var exchange = new InMemoryLogitExchange(["a", "b"]);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.Throws<OperationCanceledException>(() => exchange.Gather("a", 0, ["b"], cts.Token));
    }
}
