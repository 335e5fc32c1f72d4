using PeerDistill.Api.Access;
using Xunit;

namespace PeerDistill.Api.Tests;

/// <summary>
/// A submitted cohort writes only under the coordinator's roots, whatever its spec says: an
/// absolute output elsewhere, a checkpoint directory that climbs out, a link inside the root that
/// points out, or a cohort named '..' is refused with the field named, before any grain is called.
/// </summary>
public sealed class OutputConfinementTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-api-roots-");

    public void Dispose() => _root.Delete(recursive: true);

    private CohortApi Refusing => new(FakeCluster.Refusing, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System);

    public static TheoryData<string, string> Escapes() => new()
    {
        { "output: /etc/peerdistill", "Submit: output: '/etc/peerdistill' is outside the coordinator's output root" },
        { "output: /", "Submit: output: '/' is outside" },
        { "checkpoints: {directory: ../../outside}", "Submit: checkpoints.directory: '../../outside' is outside the coordinator's checkpoint root" },
        { "checkpoints: {directory: /tmp}", "Submit: checkpoints.directory: '/tmp' is outside" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task SpecNamingAPlaceOutsideTheRoots_InvalidArgumentNamingTheField(string lines, string expected)
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With(lines), "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutputWithDotDotClimbingOut_InvalidArgument()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With($"output: {_root.FullName}/team/../../elsewhere"), "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains("Submit: output: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("is outside the coordinator's output root", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CohortNamedDotDot_RefusedByTheSpec()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio.Replace("cohort: trio", "cohort: '..'", StringComparison.Ordinal), "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains("cohort: invalid cohort name '..'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALinkInsideTheRootPointingOut_InvalidArgumentForOutputAndCheckpoints()
    {
        var outside = Directory.CreateTempSubdirectory("peerdistill-outside-");
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(_root.FullName, "escape"), outside.FullName);

            var output = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With($"output: {Path.Combine(_root.FullName, "escape", "x")}"), "yaml", null, CancellationToken.None));
            var checkpoints = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With("checkpoints: {directory: escape/ckpt}"), "yaml", null, CancellationToken.None));

            Assert.Equal((ApiError.InvalidArgument, ApiError.InvalidArgument), (output.Error, checkpoints.Error));
            Assert.Contains("Submit: output: ", output.Message, StringComparison.Ordinal);
            Assert.Contains("is outside the coordinator's output root", output.Message, StringComparison.Ordinal);
            Assert.Contains("Submit: checkpoints.directory: 'escape/ckpt' is outside the coordinator's checkpoint root", checkpoints.Message, StringComparison.Ordinal);
        }
        finally
        {
            outside.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PlacesUnderTheRoots_Used_EachRunInItsOwnDirectory()
    {
        var cluster = new FakeCluster();
        var api = new CohortApi(cluster.Grains, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System);
        var chosen = Path.Combine(_root.FullName, "team", "trio");

        var (cohort, run, _) = await api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With($"output: {chosen}\ncheckpoints: {{directory: shared/ckpt}}"), "yaml", null, CancellationToken.None);

        var submission = cluster.Cohorts[$"{cohort}/{run}"].Submission!;
        Assert.Equal(Path.Combine(chosen, run), submission.OutputDirectory);
        Assert.Equal(Path.Combine(_root.FullName, "shared", "ckpt"), submission.CheckpointDirectory);
    }

    [Fact]
    public async Task RelativeOutput_IsTheEmbeddedRunnersAndNotUsed()
    {
        var cluster = new FakeCluster();
        var api = new CohortApi(cluster.Grains, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System);

        var (cohort, run, _) = await api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.With("output: ../../somewhere"), "yaml", null, CancellationToken.None);

        var submission = cluster.Cohorts[$"{cohort}/{run}"].Submission!;
        Assert.Equal(Path.Combine(_root.FullName, "trio", run), submission.OutputDirectory);
        Assert.Equal(Path.Combine(_root.FullName, "trio", run, "checkpoints"), submission.CheckpointDirectory);
    }

    [Fact]
    public async Task CheckpointRootSet_RunCheckpointsUnderIt()
    {
        var checkpointRoot = Path.Combine(_root.FullName, "ckpt-root");
        var cluster = new FakeCluster();
        var api = new CohortApi(cluster.Grains, new ApiOptions { OutputRoot = _root.FullName, CheckpointRoot = checkpointRoot }, TimeProvider.System);

        var (cohort, run, _) = await api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);

        Assert.Equal(Path.Combine(checkpointRoot, "trio", run), cluster.Cohorts[$"{cohort}/{run}"].Submission!.CheckpointDirectory);
    }
}
