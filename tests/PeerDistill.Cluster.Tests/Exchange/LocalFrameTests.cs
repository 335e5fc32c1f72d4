using Google.Protobuf;
using Grpc.Core;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Frames between peers of one process skip the codec (fp32), and are checked like any other.</summary>
public sealed class LocalFrameTests
{
    private static LogitsFrame Uncoded(string sender, long step, float[] values)
    {
        var frame = ExchangeHubTests.Frame(sender, step);
        frame.Values = ByteString.Empty;
        frame.LocalValues = values;
        return frame;
    }

    [Fact]
    public void UncodedFrameFromThisProcess_IsTakenAsItsFloats()
    {
        var hub = ExchangeHubTests.NewHub(out _);
        var values = Enumerable.Range(0, 12).Select(i => i * 0.25f).ToArray();
        Assert.True(hub.Deliver(Uncoded("b", 0, values)).Accepted);
        Assert.True(hub.Deliver(Uncoded("c", 0, values)).Accepted);
        var gathered = hub.Gather("a", 0, ["b", "c"], CancellationToken.None);
        Assert.Equal(2, gathered.Count);
        Assert.All(gathered, g => Assert.Equal(values, g.Values));
    }

    [Fact]
    public void UncodedFrame_IsCheckedLikeAnyFrame()
    {
        var hub = ExchangeHubTests.NewHub(out _);
        var shortFrame = hub.Deliver(Uncoded("b", 0, new float[5]));
        Assert.Equal(StatusCode.InvalidArgument, shortFrame.Code);
        Assert.Contains("has 5 values; expected 12", shortFrame.Reason, StringComparison.Ordinal);
        var nan = new float[12];
        nan[7] = float.NaN;
        Assert.Equal(StatusCode.InvalidArgument, hub.Deliver(Uncoded("b", 0, nan)).Code);
    }

    [Fact]
    public void FrameOnANetworkStream_NeverSkipsTheCodec()
    {
        // LocalValues never cross the wire; a frame on a stream is judged by its bytes alone.
        var hub = ExchangeHubTests.NewHub(out _);
        var verdict = ExchangeHubTests.Deliver(hub, Uncoded("b", 0, new float[12]));
        Assert.Equal(StatusCode.InvalidArgument, verdict.Code);
        Assert.Contains("0 bytes of values", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalValues_AreNotPartOfTheMessage()
    {
        var frame = Uncoded("b", 0, new float[12]);
        var parsed = LogitsFrame.Parser.ParseFrom(frame.ToByteArray());
        Assert.Null(parsed.LocalValues);
        Assert.Null(frame.Clone().LocalValues);
    }
}
