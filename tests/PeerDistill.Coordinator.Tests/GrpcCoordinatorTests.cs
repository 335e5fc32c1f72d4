using PeerDistill.Rpc;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>The coordinator through real gRPC: CoordinatorHost on Kestrel at 127.0.0.1 port 0, our GrpcChannel.</summary>
public sealed class GrpcCoordinatorTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "peerdistill-coordinator-tests", Guid.NewGuid().ToString("N"));
    private CoordinatorHost _host = null!;
    private GrpcChannel _channel = null!;

    private CallInvoker Calls => _channel.CallInvoker;

    public async Task InitializeAsync()
    {
        _host = await CoordinatorHost.StartAsync(new CoordinatorOptions { OutputRoot = _root }, new GrpcServerHostOptions { Port = 0 });
        _channel = GrpcChannel.ForAddress(_host.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task RegisterHeartbeatSubmitStatus_OverTheWire()
    {
        var options = new CallOptions().WithTimeout(TimeSpan.FromSeconds(10));
        var registered = await Calls.AsyncUnaryCall(WorkerRegistryMethods.Register, options, new RegisterWorkerRequest
        {
            WorkerId = "w1",
            Address = "127.0.0.1:7001",
            Slots = { new Slot { Index = 0, Device = "cpu", Threads = 1 }, new Slot { Index = 1, Device = "cpu", Threads = 1 } },
        });
        Assert.Equal(("w1", 5000L), (registered.WorkerId, registered.LeaseMs));
        Assert.Empty((await Calls.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, options, new HeartbeatRequest { WorkerId = "w1" })).Start);

        var submitted = await Calls.AsyncUnaryCall(CohortServiceMethods.Submit, options, new SubmitCohortRequest { SpecText = TestSpecs.Smoke });
        Assert.Equal("smoke", submitted.Cohort);

        var beat = await Calls.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, options, new HeartbeatRequest { WorkerId = "w1" });
        Assert.Equal(["mlp", "cnn"], beat.Start.Select(a => a.Peer));
        Assert.Equal(2, beat.Peers.Count);

        var mlp = beat.Start[0];
        await Calls.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, options, new HeartbeatRequest { WorkerId = "w1", Peers = { Harness.Progress(mlp, PeerState.Active, step: 4) } });

        var status = await Calls.AsyncUnaryCall(CohortServiceMethods.GetCohort, options, new GetCohortRequest { Cohort = "smoke" });
        Assert.Equal((submitted.Run, CohortState.Running), (status.Run, status.State));
        Assert.Equal((PeerState.Active, 4L, "w1"), (status.Peers[0].State, status.Peers[0].Step, status.Peers[0].WorkerId));

        var missing = await Assert.ThrowsAsync<RpcException>(() => Calls.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, options, new HeartbeatRequest { WorkerId = "ghost" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("worker 'ghost' is not registered", missing.Status.Detail, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<RpcException>(() => Calls.AsyncUnaryCall(CohortServiceMethods.Submit, options, new SubmitCohortRequest { SpecText = "cohort: x\n" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("peers: missing required field", invalid.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchCohort_StreamsUntilCancelled()
    {
        var options = new CallOptions().WithTimeout(TimeSpan.FromSeconds(10));
        await Calls.AsyncUnaryCall(CohortServiceMethods.Submit, options, new SubmitCohortRequest { SpecText = TestSpecs.Smoke });
        using var watch = Calls.AsyncServerStreamingCall(CohortServiceMethods.WatchCohort, options, new GetCohortRequest { Cohort = "smoke" });
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(CohortState.Pending, watch.ResponseStream.Current.State);

        var cancel = await Calls.AsyncUnaryCall(CohortServiceMethods.CancelCohort, options, new CancelCohortRequest { Cohort = "smoke", Reason = "test" });
        Assert.Equal(CohortState.Cancelled, cancel.State);

        var last = watch.ResponseStream.Current;
        while (await watch.ResponseStream.MoveNext())
        {
            last = watch.ResponseStream.Current;
        }

        Assert.Equal(CohortState.Cancelled, last.State);
        Assert.Equal(StatusCode.OK, watch.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Stop_WithAnOpenWatch_EndsItPromptly()
    {
        var options = new CallOptions().WithTimeout(TimeSpan.FromSeconds(10));
        await Calls.AsyncUnaryCall(CohortServiceMethods.Submit, options, new SubmitCohortRequest { SpecText = TestSpecs.Smoke });
        using var watch = Calls.AsyncServerStreamingCall(CohortServiceMethods.WatchCohort, options, new GetCohortRequest { Cohort = "smoke" });
        Assert.True(await watch.ResponseStream.MoveNext());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _host.StopAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"stopping took {clock.Elapsed}");
        Assert.False(await watch.ResponseStream.MoveNext());
    }
}
