using Grpc.Core;
using PeerDistill.Api.Model;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Protocol.V1;
using Xunit;
using Proto = PeerDistill.Protocol.V1;

namespace PeerDistill.Api.Tests;

/// <summary>The gRPC service translates: refusals to status codes with the API's message, records to the wire status.</summary>
public sealed class CohortGrpcServiceTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-grpc-service-");
    private readonly FakeCluster _cluster = new();

    public void Dispose()
    {
        _exporter.Dispose();
        _root.Delete(recursive: true);
    }

    private readonly CheckpointExporter _exporter;

    public CohortGrpcServiceTests() => _exporter = new CheckpointExporter(Path.Combine(_root.FullName, "exports"), Microsoft.Extensions.Logging.Abstractions.NullLogger<CheckpointExporter>.Instance);

    private CohortGrpcService Service => new(new CohortApi(_cluster.Grains, new ApiOptions { OutputRoot = _root.FullName }, TimeProvider.System), _exporter);

    [Fact]
    public async Task Refusals_MappedToStatusCodesWithTheMessage()
    {
        var invalid = await Assert.ThrowsAsync<RpcException>(() => Service.Submit(new SubmitCohortRequest { SpecText = "" }, new TestCallContext()));
        var notFound = await Assert.ThrowsAsync<RpcException>(() => Service.GetCohort(new GetCohortRequest { Cohort = "nope" }, new TestCallContext()));
        await Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio }, new TestCallContext());
        var exists = await Assert.ThrowsAsync<RpcException>(() => Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio }, new TestCallContext()));
        _cluster.FailStart = new TimeoutException("silo gone");
        var unavailable = await Assert.ThrowsAsync<RpcException>(() => Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio.Replace("cohort: trio", "cohort: duo", StringComparison.Ordinal) }, new TestCallContext()));

        Assert.Equal((StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.AlreadyExists, StatusCode.Unavailable), (invalid.StatusCode, notFound.StatusCode, exists.StatusCode, unavailable.StatusCode));
        Assert.StartsWith("Submit: spec_text is empty", invalid.Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("GetCohort: no cohort named 'nope'", notFound.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitGetListCancel_OverTheService()
    {
        var submitted = await Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio }, new TestCallContext());

        var status = await Service.GetCohort(new GetCohortRequest { Cohort = "trio" }, new TestCallContext());
        var cancel = await Service.CancelCohort(new CancelCohortRequest { Cohort = "trio", Reason = "enough" }, new TestCallContext());
        var cancelled = await Service.ListCohorts(new ListCohortsRequest { State = Proto.CohortState.Cancelled }, new TestCallContext());
        var running = await Service.ListCohorts(new ListCohortsRequest { State = Proto.CohortState.Running }, new TestCallContext());

        Assert.Equal(("trio", "trio-1"), (submitted.Cohort, submitted.Run));
        Assert.Equal((Proto.CohortState.Pending, 3), (status.State, status.Peers.Count));
        Assert.Equal(Proto.CohortState.Cancelled, cancel.State);
        Assert.Equal(["trio"], cancelled.Cohorts.Select(c => c.Cohort));
        Assert.Empty(running.Cohorts);
    }

    [Fact]
    public void ToStatus_CarriesPeersEventsAndOptionalFields()
    {
        var record = new CohortRecord
        {
            Cohort = "trio",
            Run = "trio-1",
            State = Cluster.Cohorts.CohortState.Running,
            CreatedUnixMillis = 5,
            Peers =
            [
                new PeerRecord { Name = "mlp", WorkerId = "w1", Silo = "127.0.0.1:1@2", EverPlaced = true, Generation = 2, Step = 40, TotalSteps = 141, State = Cluster.Cohorts.PeerState.Active, LastLoss = 0.5, Accuracy = 0.7, Message = "m" },
                new PeerRecord { Name = "cnn", Generation = 1 },
            ],
            Events = [new Cluster.Cohorts.CohortEvent(9, "mlp", EventKinds.Reactivated, "generation 2")],
        };

        var status = CohortGrpcService.ToStatus(RunViews.From(record));

        Assert.Equal(("trio", "trio-1", Proto.CohortState.Running, 5L, false), (status.Cohort, status.Run, status.State, status.CreatedUnixMillis, status.HasFinishedUnixMillis));
        var mlp = status.Peers[0];
        Assert.Equal(("w1", "127.0.0.1:1@2", 2UL, 40L, 141L, Proto.PeerState.Active, 0.5, 0.7, "m"), (mlp.WorkerId, mlp.WorkerSilo, mlp.Generation, mlp.Step, mlp.TotalSteps, mlp.State, mlp.LastLoss, mlp.Accuracy, mlp.Message));
        var cnn = status.Peers[1];
        Assert.Equal((string.Empty, 0UL, false, false, Proto.PeerState.Pending), (cnn.WorkerId, cnn.Generation, cnn.HasLastLoss, cnn.HasAccuracy, cnn.State));
        var e = Assert.Single(status.Events);
        Assert.Equal((9L, "mlp", "reactivated", "generation 2"), (e.UnixMillis, e.Peer, e.Kind, e.Message));
    }

    [Theory]
    [InlineData(Cluster.Cohorts.CohortState.Pending, Proto.CohortState.Pending)]
    [InlineData(Cluster.Cohorts.CohortState.Running, Proto.CohortState.Running)]
    [InlineData(Cluster.Cohorts.CohortState.Completed, Proto.CohortState.Completed)]
    [InlineData(Cluster.Cohorts.CohortState.Failed, Proto.CohortState.Failed)]
    [InlineData(Cluster.Cohorts.CohortState.Cancelled, Proto.CohortState.Cancelled)]
    [InlineData(Cluster.Cohorts.CohortState.Paused, Proto.CohortState.Paused)]
    public void EveryRunState_ReachesTheWireAsTheSameState(Cluster.Cohorts.CohortState state, Proto.CohortState wire)
    {
        Assert.Equal(wire, CohortGrpcService.ToStatus(RunViews.From(new CohortRecord { Cohort = "c", Run = "c-1", State = state })).State);
    }

    [Fact]
    public void EveryPeerState_ReachesTheWireAsTheSameState()
    {
        // By name on both sides: the cluster's, the API's and the wire's enums are separate types.
        foreach (var state in Enum.GetValues<Cluster.Cohorts.PeerState>())
        {
            var record = new CohortRecord { Cohort = "c", Run = "c-1", Peers = [new PeerRecord { Name = "p", State = state }] };
            var wire = CohortGrpcService.ToStatus(RunViews.From(record)).Peers[0].State;
            Assert.Equal(state.ToString(), wire.ToString());
        }
    }

    [Fact]
    public async Task PauseUpdateResume_OverTheService_SayTheStepAndTheState()
    {
        await Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio }, new TestCallContext());
        _cluster.Cohorts.Values.Single().Lifecycle!.Record.State = Cluster.Cohorts.CohortState.Running;

        var paused = await Service.PauseCohort(new PauseCohortRequest { Cohort = "trio" }, new TestCallContext());
        var listed = await Service.ListCohorts(new ListCohortsRequest { State = Proto.CohortState.Paused }, new TestCallContext());
        var changed = await Service.UpdateCohort(new UpdateCohortRequest { Cohort = "trio", Change = "{distillation: {alpha: 0.5}, lr_scale: 0.25}" }, new TestCallContext());
        var resumed = await Service.ResumeCohort(new ResumeCohortRequest { Cohort = "trio" }, new TestCallContext());

        Assert.Equal((FakeCluster.Cohort.FakePauseStep, Proto.CohortState.Paused, FakeCluster.Cohort.FakePauseStep), (paused.Step, paused.Status.State, paused.Status.PausedAtStep));
        Assert.Contains(paused.Status.Events, e => e.Kind == "paused" && e.Message.Contains($"step {FakeCluster.Cohort.FakePauseStep}", StringComparison.Ordinal));
        Assert.Equal(["trio"], listed.Cohorts.Select(c => c.Cohort));
        var change = Assert.Single(changed.Status.Changes);
        Assert.Equal((FakeCluster.Cohort.FakePauseStep, 0.5, 0.25, false), (change.Step, change.Alpha, change.LrScale, change.HasTemperature));
        Assert.Contains(changed.Status.Events, e => e.Kind == "changed" && e.Message == $"distillation.alpha=0.5, lr_scale=0.25 from step {FakeCluster.Cohort.FakePauseStep}");
        Assert.Equal((Proto.CohortState.Running, false), (resumed.Status.State, resumed.Status.HasPausedAtStep));
    }

    [Fact]
    public async Task SteeringRefusals_FailedPreconditionOrInvalidArgument_WithWhy()
    {
        await Service.Submit(new SubmitCohortRequest { SpecText = TestSpecs.Trio }, new TestCallContext());
        _cluster.Cohorts.Values.Single().Lifecycle!.Record.State = Cluster.Cohorts.CohortState.Running;

        var resumeRunning = await Assert.ThrowsAsync<RpcException>(() => Service.ResumeCohort(new ResumeCohortRequest { Cohort = "trio" }, new TestCallContext()));
        var fixedField = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateCohort(new UpdateCohortRequest { Cohort = "trio", Change = "{data: {batch_size: 64}}" }, new TestCallContext()));
        var withStep = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateCohort(new UpdateCohortRequest { Cohort = "trio", Change = "{step: 3, lr_scale: 2}" }, new TestCallContext()));
        await Service.PauseCohort(new PauseCohortRequest { Cohort = "trio" }, new TestCallContext());
        var pausePaused = await Assert.ThrowsAsync<RpcException>(() => Service.PauseCohort(new PauseCohortRequest { Cohort = "trio" }, new TestCallContext()));
        await Service.CancelCohort(new CancelCohortRequest { Cohort = "trio" }, new TestCallContext());
        var pauseEnded = await Assert.ThrowsAsync<RpcException>(() => Service.PauseCohort(new PauseCohortRequest { Cohort = "trio" }, new TestCallContext()));
        var updateEnded = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateCohort(new UpdateCohortRequest { Cohort = "trio", Change = "{lr_scale: 2}" }, new TestCallContext()));
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Service.PauseCohort(new PauseCohortRequest { Cohort = "nope" }, new TestCallContext()));

        Assert.All([resumeRunning, pausePaused, pauseEnded, updateEnded], e => Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode));
        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument, StatusCode.NotFound), (fixedField.StatusCode, withStep.StatusCode, unknown.StatusCode));
        Assert.Equal("ResumeCohort: cohort 'trio' run 'trio-1' is running; only a paused run resumes", resumeRunning.Status.Detail);
        Assert.Contains("data.batch_size: cannot change while a cohort runs (it changes the data set or the batches", fixedField.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("step: a live update takes no step", withStep.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("is paused already (at step 7)", pausePaused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("has ended (cancelled); only a running run pauses", pauseEnded.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("has ended (cancelled); only a running or paused run changes", updateEnded.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListCohorts_AStateThatIsNone_InvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Service.ListCohorts(new ListCohortsRequest { State = (Proto.CohortState)99 }, new TestCallContext()));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("state 99 is not a cohort state", e.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>The least ServerCallContext a unary call needs.</summary>
    private sealed class TestCallContext : ServerCallContext
    {
        protected override string MethodCore => "test";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        /// <summary>The HTTP context a call reaches the service with: an authenticated admin (access control is tested on real processes).</summary>
        protected override IDictionary<object, object> UserStateCore { get; } = new Dictionary<object, object>
        {
            ["__HttpContext"] = new Microsoft.AspNetCore.Http.DefaultHttpContext
            {
                User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                    [new(PeerDistill.Api.Access.AccessClaims.Role, PeerDistill.Api.Access.ApiRoles.Admin), new(PeerDistill.Api.Access.AccessClaims.Name, "test")], "test")),
            },
        };

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
