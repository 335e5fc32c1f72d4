using System.Text.Json;
using PeerDistill.Cluster.Cohorts;
using Xunit;

namespace PeerDistill.Cluster.Tests.Cohorts;

/// <summary>summary.json of a finished distributed run.</summary>
public sealed class SummaryFileTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-summary-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void CompletedRunWithALostSilo_SummaryHasStatePeersAndInterruptions()
    {
        var output = Path.Combine(_root.FullName, "trio", "trio-20250102-030405");
        var h = new Lifecycle(output);
        h.PlaceAllActive();
        h.Run.LoseSilo(Lifecycle.Silo("w1"), "silo w1 declared dead");
        h.Place("mlp", "w4", newestCheckpoint: 40);
        h.Advance(7);
        h.Report("mlp", "w4", PeerState.Completed, step: 141, accuracy: 0.8);
        h.Report("cnn", "w2", PeerState.Completed, step: 141, accuracy: 0.7);
        h.Report("wide", "w3", PeerState.Completed, step: 141, accuracy: 0.75);

        var path = SummaryFile.Write(h.Run.Record);

        Assert.Equal(Path.Combine(output, SummaryFile.FileName), path);
        Assert.False(File.Exists(path + ".tmp"));
        using var summary = JsonDocument.Parse(File.ReadAllText(path));
        var root = summary.RootElement;
        Assert.Equal(("trio", "trio-20250102-030405", "completed", "dml"), (root.GetProperty("cohort").GetString(), root.GetProperty("run").GetString(), root.GetProperty("state").GetString(), root.GetProperty("strategy").GetString()));
        Assert.Equal(7.0, root.GetProperty("wall_seconds").GetDouble());
        Assert.Equal(("peerdistill.summary/1", "distributed"), (root.GetProperty("schema").GetString(), root.GetProperty("mode").GetString()));
        Assert.Equal("2025-01-02T03:04:05.0000000+00:00", root.GetProperty("created_at").GetString());
        Assert.Equal(output, root.GetProperty("output_dir").GetString());
        Assert.False(root.TryGetProperty("ensemble_accuracy", out _));
        var peers = root.GetProperty("peers").EnumerateArray().ToList();
        Assert.Equal(["mlp", "cnn", "wide"], peers.Select(p => p.GetProperty("peer").GetString()));
        var first = peers[0];
        Assert.Equal(("mlp", "completed", 141L, 0.8, "w4", 2UL), (
            first.GetProperty("model").GetString(),
            first.GetProperty("state").GetString(),
            first.GetProperty("steps").GetInt64(),
            first.GetProperty("test_accuracy").GetDouble(),
            first.GetProperty("worker").GetString(),
            first.GetProperty("generation").GetUInt64()));
        Assert.True(first.TryGetProperty("message", out _));
        var interruptions = root.GetProperty("interruptions").EnumerateArray().ToList();
        Assert.Equal(["worker-lost", "reactivated"], interruptions.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal("mlp", interruptions[1].GetProperty("peer").GetString());
        Assert.Contains("resuming from step 40", interruptions[1].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CancelledRun_NeverPlacedPeer_GenerationZeroAndNoWorker()
    {
        var output = Path.Combine(_root.FullName, "cancelled");
        var h = new Lifecycle(output);
        h.Place("mlp", "w1");
        h.Run.Cancel("enough");

        using var summary = JsonDocument.Parse(File.ReadAllText(SummaryFile.Write(h.Run.Record)));

        var root = summary.RootElement;
        Assert.Equal("cancelled", root.GetProperty("state").GetString());
        var cnn = root.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("peer").GetString() == "cnn");
        Assert.Equal(0UL, cnn.GetProperty("generation").GetUInt64());
        Assert.Equal(JsonValueKind.Null, cnn.GetProperty("worker").ValueKind);
        Assert.Equal("interrupted", cnn.GetProperty("state").GetString());
        Assert.Empty(root.GetProperty("interruptions").EnumerateArray());
    }
}
