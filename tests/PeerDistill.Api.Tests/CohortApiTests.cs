using PeerDistill.Api.Model;
using PeerDistill.Cluster.Cohorts;
using Xunit;

namespace PeerDistill.Api.Tests;

/// <summary>The cohort API over in-memory grains: refusals, submission, reads, cancel, watch.</summary>
public sealed class CohortApiTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-api-");
    private readonly FakeCluster _cluster = new();

    public void Dispose() => _root.Delete(recursive: true);

    private CohortApi Api => new(_cluster.Grains, new ApiOptions { OutputRoot = _root.FullName, MaxEventsPerRun = 7, WatchInterval = TimeSpan.FromMilliseconds(10) }, TimeProvider.System);

    private CohortApi Refusing => new(FakeCluster.Refusing, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System);

    [Fact]
    public async Task InvalidSpec_InvalidArgumentNamingEveryField()
    {
        var bad = TestSpecs.Trio.Replace("epochs: 3", "epochs: -1", StringComparison.Ordinal).Replace("temperature: 1", "temperature: 0", StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(bad, "yaml", CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        var lines = e.Message.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("data.epochs", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("distillation.temperature", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SpecMissingPeers_InvalidArgument()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync("cohort: x\n", "yaml", CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains("peers: missing required field", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "yaml", "Submit: spec_text is empty")]
    [InlineData("  \n", "", "Submit: spec_text is empty")]
    [InlineData("cohort: x", "xml", "Submit: spec_format 'xml' is not supported")]
    public async Task BadRequest_InvalidArgument(string text, string format, string expected)
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(text, format, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonSpec_Accepted()
    {
        const string json = """
            {"cohort": "duo", "peers": [{"name": "a", "model": "mlp"}, {"name": "b", "model": "mlp"}],
             "distillation": {"strategy": "dml"}, "data": {"dataset": "synthetic"}}
            """;

        var (cohort, run) = await Api.SubmitAsync(json, " JSON ", CancellationToken.None);

        var submission = _cluster.Cohorts[$"{cohort}/{run}"].Submission!;
        Assert.Equal(("duo", "json", json), (submission.Cohort, submission.SpecFormat, submission.SpecText));
    }

    [Fact]
    public async Task Submit_StartsTheCohortGrainWithTheSpec()
    {
        var (cohort, run) = await Api.SubmitAsync(TestSpecs.Trio, "", CancellationToken.None);

        Assert.Equal(("trio", "trio-1"), (cohort, run));
        var submission = _cluster.Cohorts["trio/trio-1"].Submission!;
        Assert.Equal(("yaml", "dml", 2, 7), (submission.SpecFormat, submission.Strategy, submission.KeepLast, submission.MaxEvents));
        Assert.Equal(TestSpecs.Trio, submission.SpecText);
        Assert.Equal([("mlp", "mlp", "cpu"), ("cnn", "cnn", "cpu"), ("wide", "mlp", "cpu")], submission.Peers.Select(p => (p.Name, p.Model, p.Device)));
    }

    [Fact]
    public async Task Submit_CohortWithUnfinishedRun_AlreadyExists()
    {
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None));

        Assert.Equal(ApiError.AlreadyExists, e.Error);
        Assert.Contains("cohort 'trio' already has run 'trio-1' (pending)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_CohortGrainFailsToStart_UnavailableAndRunMarkedFailed()
    {
        _cluster.FailStart = new TimeoutException("silo gone");

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None));

        Assert.Equal(ApiError.Unavailable, e.Error);
        Assert.Contains("run 'trio-1' of cohort 'trio' could not be started: silo gone", e.Message, StringComparison.Ordinal);
        Assert.Equal(CohortState.Failed, Assert.Single(await _cluster.Runs.ListAsync()).State);
        Assert.Equal(("trio", "trio-2"), await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None));
    }

    [Fact]
    public async Task Get_UnknownCohortOrRun_NotFoundNamingWhatIsKnown()
    {
        var empty = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync("GetCohort", "nope", "", CancellationToken.None));
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);

        var none = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync("GetCohort", "nope", "", CancellationToken.None));
        var noRun = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync("GetCohort", "trio", "trio-9", CancellationToken.None));
        var blank = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync("GetCohort", " ", "", CancellationToken.None));

        Assert.Contains("GetCohort: no cohort named 'nope' (no cohort has been submitted)", empty.Message, StringComparison.Ordinal);
        Assert.Equal(ApiError.NotFound, none.Error);
        Assert.Contains("GetCohort: no cohort named 'nope' (known: trio)", none.Message, StringComparison.Ordinal);
        Assert.Equal(ApiError.NotFound, noRun.Error);
        Assert.Contains("cohort 'trio' has no run 'trio-9' (its runs: trio-1)", noRun.Message, StringComparison.Ordinal);
        Assert.Equal(ApiError.InvalidArgument, blank.Error);
    }

    [Fact]
    public async Task Get_EmptyRun_TheLatestRun()
    {
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);
        await Api.CancelAsync("trio", "", "enough", CancellationToken.None);
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);

        var latest = await Api.GetAsync("GetCohort", "trio", "", CancellationToken.None);
        var first = await Api.GetAsync("GetCohort", "trio", "trio-1", CancellationToken.None);

        Assert.Equal(("trio-2", RunState.Pending), (latest.Run, latest.State));
        Assert.Equal(("trio-1", RunState.Cancelled), (first.Run, first.State));
    }

    [Fact]
    public async Task List_NewestFirst_FilteredByState()
    {
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);
        await Api.SubmitAsync(TestSpecs.Trio.Replace("cohort: trio", "cohort: duo", StringComparison.Ordinal), "yaml", CancellationToken.None);
        await Api.CancelAsync("trio", "", "", CancellationToken.None);

        var all = await Api.ListAsync(null, CancellationToken.None);
        var cancelled = await Api.ListAsync(RunState.Cancelled, CancellationToken.None);

        Assert.Equal(["duo", "trio"], all.Select(c => c.Cohort));
        Assert.Equal(["trio"], cancelled.Select(c => c.Cohort));
        Assert.Contains(cancelled[0].Events, e => e.Kind == EventKinds.Cancelled && e.Message == "cancelled by request");
    }

    [Fact]
    public async Task Cancel_FinishedRun_KeepsItsState()
    {
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);

        Assert.Equal(RunState.Cancelled, await Api.CancelAsync("trio", "", " enough ", CancellationToken.None));
        var version = _cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Version;
        Assert.Equal(RunState.Cancelled, await Api.CancelAsync("trio", "trio-1", "again", CancellationToken.None));

        Assert.Equal(version, _cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Version);
        Assert.Contains(_cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Events, e => e.Kind == EventKinds.Cancelled && e.Message == "enough");
    }

    [Fact]
    public async Task Watch_SendsNowAndOnChange_EndsWhenTheRunEnds()
    {
        await Api.SubmitAsync(TestSpecs.Trio, "yaml", CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<RunState>();

        await foreach (var status in Api.WatchAsync("trio", "", timeout.Token))
        {
            seen.Add(status.State);
            if (seen.Count == 1)
            {
                await Api.CancelAsync("trio", "", "enough", CancellationToken.None);
            }
        }

        Assert.Equal([RunState.Pending, RunState.Cancelled], seen);
    }
}
