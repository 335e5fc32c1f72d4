using PeerDistill.Api.Access;
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
    public async Task Reads_WithinTheCacheAge_ShareOneGrainCall_AndAChangeIsSeenByTheNextRead()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var api = new CohortApi(_cluster.Grains, new ApiOptions { OutputRoot = _root.FullName, ReadCacheAge = TimeSpan.FromMilliseconds(200) }, clock);
        var (cohort, run, _) = await api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        var grain = Assert.Single(_cluster.Cohorts.Values, c => c.Lifecycle is not null);
        var before = grain.StatusReads;

        // A hundred gets, a list and a watch's first status at one instant: one grain call.
        var gets = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => api.GetAsync(ApiCaller.Coordinator, "GetRun", cohort, run, CancellationToken.None)));
        var listed = await api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: 10), CancellationToken.None);
        await foreach (var watched in api.WatchAsync(ApiCaller.Coordinator, cohort, run, null, CancellationToken.None))
        {
            Assert.Equal(gets[0].Version, watched.Version);
            break;
        }

        Assert.Equal(before + 1, grain.StatusReads);
        Assert.All(gets, g => Assert.Same(gets[0], g));
        Assert.Equal(run, Assert.Single(listed.Runs).Run);

        // Older than the cache age: read again.
        clock.Advance(TimeSpan.FromMilliseconds(250));
        await api.GetAsync(ApiCaller.Coordinator, "GetRun", cohort, run, CancellationToken.None);
        Assert.Equal(before + 2, grain.StatusReads);

        // A change through the API is seen by the next read, however young the cached one.
        await api.CancelAsync(ApiCaller.Coordinator, cohort, run, "enough", null, CancellationToken.None);
        Assert.Equal(RunState.Cancelled, (await api.GetAsync(ApiCaller.Coordinator, "GetRun", cohort, run, CancellationToken.None)).State);
    }

    [Fact]
    public async Task InvalidSpec_InvalidArgumentNamingEveryField()
    {
        var bad = TestSpecs.Trio.Replace("epochs: 3", "epochs: -1", StringComparison.Ordinal).Replace("temperature: 1", "temperature: 0", StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, bad, "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        var lines = e.Message.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("data.epochs", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("distillation.temperature", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SpecMissingPeers_InvalidArgument()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, "cohort: x\n", "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.InvalidArgument, e.Error);
        Assert.Contains("peers: missing required field", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "yaml", "Submit: spec_text is empty")]
    [InlineData("  \n", "", "Submit: spec_text is empty")]
    [InlineData("cohort: x", "xml", "Submit: spec_format 'xml' is not supported")]
    public async Task BadRequest_InvalidArgument(string text, string format, string expected)
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, text, format, null, CancellationToken.None));

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

        var (cohort, run, _) = await Api.SubmitAsync(ApiCaller.Coordinator, json, " JSON ", null, CancellationToken.None);

        var submission = _cluster.Cohorts[$"{cohort}/{run}"].Submission!;
        Assert.Equal(("duo", "json", json), (submission.Cohort, submission.SpecFormat, submission.SpecText));
    }

    [Fact]
    public async Task Submit_StartsTheCohortGrainWithTheSpec()
    {
        var (cohort, run, _) = await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "", null, CancellationToken.None);

        Assert.Equal(("trio", "trio-1"), (cohort, run));
        var submission = _cluster.Cohorts["trio/trio-1"].Submission!;
        Assert.Equal(("yaml", "dml", 2, 7), (submission.SpecFormat, submission.Strategy, submission.KeepLast, submission.MaxEvents));
        Assert.Equal(TestSpecs.Trio, submission.SpecText);
        Assert.Equal([("mlp", "mlp", "cpu"), ("cnn", "cnn", "cpu"), ("wide", "mlp", "cpu")], submission.Peers.Select(p => (p.Name, p.Model, p.Device)));
    }

    [Fact]
    public async Task Submit_CohortWithUnfinishedRun_AlreadyExists()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.AlreadyExists, e.Error);
        Assert.Contains("cohort 'trio' already has run 'trio-1' (pending)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_CohortGrainFailsToStart_UnavailableAndRunMarkedFailed()
    {
        _cluster.FailStart = new TimeoutException("silo gone");

        var e = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None));

        Assert.Equal(ApiError.Unavailable, e.Error);
        Assert.Contains("run 'trio-1' of cohort 'trio' could not be started: silo gone", e.Message, StringComparison.Ordinal);
        Assert.Equal(CohortState.Failed, Assert.Single(await _cluster.Runs.ListAsync()).State);
        Assert.Equal(new SubmittedRun("trio", "trio-2", false), await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None));
    }

    [Fact]
    public async Task Get_UnknownCohortOrRun_NotFoundNamingWhatIsKnown()
    {
        var empty = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "nope", "", CancellationToken.None));
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);

        var none = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "nope", "", CancellationToken.None));
        var noRun = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "trio-9", CancellationToken.None));
        var blank = await Assert.ThrowsAsync<CohortApiException>(() => Api.GetAsync(ApiCaller.Coordinator, "GetCohort", " ", "", CancellationToken.None));

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
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "enough", null, CancellationToken.None);
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);

        var latest = await Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "", CancellationToken.None);
        var first = await Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "trio-1", CancellationToken.None);

        Assert.Equal(("trio-2", RunState.Pending), (latest.Run, latest.State));
        Assert.Equal(("trio-1", RunState.Cancelled), (first.Run, first.State));
    }

    [Fact]
    public async Task List_NewestFirst_FilteredByState()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio.Replace("cohort: trio", "cohort: duo", StringComparison.Ordinal), "yaml", null, CancellationToken.None);
        await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "", null, CancellationToken.None);

        var all = (await Api.ListAsync(ApiCaller.Coordinator, new RunFilter(), CancellationToken.None)).Runs;
        var cancelled = (await Api.ListAsync(ApiCaller.Coordinator, new RunFilter(RunState.Cancelled), CancellationToken.None)).Runs;

        Assert.Equal(["duo", "trio"], all.Select(c => c.Cohort));
        Assert.Equal(["trio"], cancelled.Select(c => c.Cohort));
        Assert.Contains(cancelled[0].Events, e => e.Kind == EventKinds.Cancelled && e.Message == "cancelled by request");
    }

    [Fact]
    public async Task Cancel_FinishedRun_KeepsItsState()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);

        Assert.Equal(RunState.Cancelled, (await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", " enough ", null, CancellationToken.None)).State);
        var version = _cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Version;
        Assert.Equal(RunState.Cancelled, (await Api.CancelAsync(ApiCaller.Coordinator, "trio", "trio-1", "again", null, CancellationToken.None)).State);

        Assert.Equal(version, _cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Version);
        Assert.Contains(_cluster.Cohorts["trio/trio-1"].Lifecycle!.Record.Events, e => e.Kind == EventKinds.Cancelled && e.Message == "enough");
    }

    [Fact]
    public async Task Watch_SendsNowAndOnChange_EndsWhenTheRunEnds()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<RunState>();

        await foreach (var status in Api.WatchAsync(ApiCaller.Coordinator, "trio", "", null, timeout.Token))
        {
            seen.Add(status.State);
            if (seen.Count == 1)
            {
                await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "enough", null, CancellationToken.None);
            }
        }

        Assert.Equal([RunState.Pending, RunState.Cancelled], seen);
    }

    [Fact]
    public async Task Submit_SameKeyAndSpec_AnswersTheFirstRun_AnotherSpec_KeyReused_ABadKey_InvalidArgument()
    {
        var first = await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", "key-1", CancellationToken.None);
        var retry = await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", "key-1", CancellationToken.None);
        var other = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio.Replace("cohort: trio", "cohort: duo", StringComparison.Ordinal), "yaml", "key-1", CancellationToken.None));
        var bad = await Assert.ThrowsAsync<CohortApiException>(() => Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", "two words", CancellationToken.None));

        Assert.Equal(new SubmittedRun("trio", "trio-1", false), first);
        Assert.Equal(new SubmittedRun("trio", "trio-1", true), retry);
        Assert.Equal(ApiError.KeyReused, other.Error);
        Assert.Equal(ApiError.InvalidArgument, bad.Error);
        Assert.Single(await _cluster.Runs.ListAsync());
    }

    [Fact]
    public async Task Submit_InvalidSpec_CarriesEachFieldError()
    {
        var e = await Assert.ThrowsAsync<CohortApiException>(() => Refusing.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio.Replace("batch_size: 64", "batch_size: -4", StringComparison.Ordinal), "yaml", null, CancellationToken.None));

        var error = Assert.Single(e.SpecErrors);
        Assert.Equal("data.batch_size", error.Path);
        Assert.True(error.Line > 0);
    }

    [Fact]
    public async Task List_PagesWithACursor_NoRunTwice_ABadCursorOrSize_InvalidArgument()
    {
        foreach (var cohort in new[] { "c1", "c2", "c3" })
        {
            await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio.Replace("cohort: trio", "cohort: " + cohort, StringComparison.Ordinal), "yaml", null, CancellationToken.None);
        }

        var first = await Api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: 2), CancellationToken.None);
        var second = await Api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: 2, Cursor: first.NextCursor), CancellationToken.None);
        var filtered = await Api.ListAsync(ApiCaller.Coordinator, new RunFilter(Cohort: "c2"), CancellationToken.None);

        Assert.Equal(["c3", "c2"], first.Runs.Select(r => r.Cohort));
        Assert.Equal(["c1"], second.Runs.Select(r => r.Cohort));
        Assert.Null(second.NextCursor);
        Assert.Equal(["c2"], filtered.Runs.Select(r => r.Cohort));
        Assert.Equal(ApiError.InvalidArgument, (await Assert.ThrowsAsync<CohortApiException>(() => Api.ListAsync(ApiCaller.Coordinator, new RunFilter(Cursor: "garbage"), CancellationToken.None))).Error);
        Assert.Equal(ApiError.InvalidArgument, (await Assert.ThrowsAsync<CohortApiException>(() => Api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: 0), CancellationToken.None))).Error);
    }

    [Fact]
    public async Task Cancel_StaleExpectedVersion_Refused_CurrentOne_Cancels()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        var version = (await Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "", CancellationToken.None)).Version;

        var stale = await Assert.ThrowsAsync<CohortApiException>(() => Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "", version + 1, CancellationToken.None));
        var cancelled = await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "", version, CancellationToken.None);

        Assert.Equal(ApiError.StaleVersion, stale.Error);
        Assert.Equal(RunState.Cancelled, cancelled.State);
    }

    [Fact]
    public async Task Watch_ResumedAfterAVersion_SendsOnlyNewerStates_AndTheEndOnce()
    {
        await Api.SubmitAsync(ApiCaller.Coordinator, TestSpecs.Trio, "yaml", null, CancellationToken.None);
        var pending = await Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "", CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var resumed = new List<RunView>();
        var watching = Task.Run(async () =>
        {
            await foreach (var status in Api.WatchAsync(ApiCaller.Coordinator, "trio", "", pending.Version, timeout.Token))
            {
                resumed.Add(status);
            }
        });

        await Api.CancelAsync(ApiCaller.Coordinator, "trio", "", "enough", null, CancellationToken.None);
        await watching;
        var ended = await Api.GetAsync(ApiCaller.Coordinator, "GetCohort", "trio", "", CancellationToken.None);
        var again = new List<RunView>();
        await foreach (var status in Api.WatchAsync(ApiCaller.Coordinator, "trio", "", ended.Version, timeout.Token))
        {
            again.Add(status);
        }

        Assert.Equal([RunState.Cancelled], resumed.Select(r => r.State)); // the pending state it had seen is not sent again
        Assert.Equal([ended.Version], again.Select(r => r.Version)); // after the end: the end, once
    }
}
