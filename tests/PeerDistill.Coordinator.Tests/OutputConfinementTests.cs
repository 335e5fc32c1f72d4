using Grpc.Core;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>
/// A submitted cohort writes only under the coordinator's roots, whatever its spec says: an
/// absolute output elsewhere, a relative checkpoint directory that climbs out, a link inside the
/// root that points out, or a cohort named '..' is refused with the field named.
/// </summary>
public sealed class OutputConfinementTests : IDisposable
{
    private readonly Harness _h = new();

    public void Dispose() => _h.Dispose();

    public static TheoryData<string, string> Escapes() => new()
    {
        { "output: /etc/peerdistill", "output: '/etc/peerdistill' is outside the coordinator's output root" },
        { "output: /", "output: '/' is outside" },
        { "checkpoints: {directory: ../../outside}", "checkpoints.directory: '../../outside' is outside the coordinator's checkpoint root" },
        { "checkpoints: {directory: /tmp}", "checkpoints.directory: '/tmp' is outside" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public void SpecNamingAPlaceOutsideTheRoots_Refused_NothingWritten(string line, string expected)
    {
        _h.Register("w1", slots: 3);

        var e = Assert.Throws<RpcException>(() => _h.Submit(Spec(line)));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => _h.Status("trio")).StatusCode);
        Assert.Empty(_h.Heartbeat("w1").Start);
    }

    [Fact]
    public void CohortNamedDotDot_RefusedByTheSpec()
    {
        var e = Assert.Throws<RpcException>(() => _h.Submit(TestSpecs.Trio.Replace("cohort: trio", "cohort: '..'", StringComparison.Ordinal)));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("cohort: invalid cohort name '..'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ALinkInsideTheRootPointingOut_Refused()
    {
        var outside = Directory.CreateTempSubdirectory("peerdistill-outside-").FullName;
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(_h.Root, "escape"), outside);

            var output = Assert.Throws<RpcException>(() => _h.Submit(Spec($"output: {Path.Combine(_h.Root, "escape", "x")}")));
            var checkpoints = Assert.Throws<RpcException>(() => _h.Submit(Spec("checkpoints: {directory: escape/ckpt}")));

            Assert.Contains("is outside the coordinator's output root", output.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("is outside the coordinator's checkpoint root", checkpoints.Status.Detail, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void PlacesUnderTheRoots_AreUsed_EachRunInItsOwnDirectory()
    {
        _h.Register("w1", slots: 3);
        var chosen = Path.Combine(_h.Root, "team", "trio");

        var submitted = _h.Submit(Spec($"output: {chosen}\ncheckpoints: {{directory: shared/ckpt}}"));

        var assignment = _h.Heartbeat("w1").Start.First();
        Assert.Equal(Path.Combine(chosen, submitted.Run), assignment.OutputDir);
        Assert.Equal(Path.Combine(_h.Root, "shared", "ckpt"), assignment.CheckpointDir);
    }

    [Fact]
    public void ARelativeOutput_IsTheEmbeddedRunnersAndNotUsed()
    {
        _h.Register("w1", slots: 3);

        var submitted = _h.Submit(Spec("output: ../../somewhere"));

        Assert.Equal(Path.Combine(_h.Root, "trio", submitted.Run), _h.Heartbeat("w1").Start.First().OutputDir);
    }

    [Fact]
    public void Registration_TellsTheWorkerTheRoots()
    {
        var reply = _h.Register("w1");

        Assert.Equal(Path.GetFullPath(_h.Root), reply.OutputRoot);
        Assert.Equal(Path.GetFullPath(_h.Root), reply.CheckpointRoot);
    }

    /// <summary>The trio spec with its own output and checkpoints replaced by <paramref name="lines"/>.</summary>
    private static string Spec(string lines) => TestSpecs.Trio
        .Replace("checkpoints:\n  every_steps: 20\n  keep_last: 2\n", string.Empty, StringComparison.Ordinal)
        .Replace("output: runs/trio", lines, StringComparison.Ordinal);
}
