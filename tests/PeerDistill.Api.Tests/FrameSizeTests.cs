using PeerDistill.Api.Access;
using Xunit;

namespace PeerDistill.Api.Tests;

/// <summary>A cohort whose logits frames cannot go through the gRPC exchange is refused at submission.</summary>
public sealed class FrameSizeTests : IDisposable
{
    private const string Wide = """
        cohort: wide
        peers:
          - {name: a, model: mlp, model_options: {widths: [16]}}
          - {name: b, model: mlp, model_options: {widths: [16]}}
        data:
          dataset: synthetic
          batch_size: 128
          synthetic: {train_count: 256, test_count: 16, classes: 10000}

        """;

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-api-");

    public void Dispose() => _root.Delete(recursive: true);

    private CohortApi Api => new(new FakeCluster().Grains, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System);

    [Fact]
    public async Task DenseFramesAboveTheMessageLimit_InvalidArgumentNamingWireDtypeAndBatchSize()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(ApiCaller.Coordinator, Wide, "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains("exchange.wire_dtype", e.Message, StringComparison.Ordinal);
        Assert.Contains("data.batch_size 128 x 10000 classes as fp32", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("exchange: {wire_dtype: fp16}")]
    [InlineData("exchange: {wire_dtype: topk, topk: 128}")]
    public async Task SmallerWireForms_AreAccepted(string exchange)
    {
        var run = await Api.SubmitAsync(ApiCaller.Coordinator, Wide + exchange + "\n", "yaml", null, CancellationToken.None);
        Assert.Equal("wide", run.Cohort);
        Assert.False(string.IsNullOrEmpty(run.Run));
    }
}
