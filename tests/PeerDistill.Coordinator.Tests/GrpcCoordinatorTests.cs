using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Protocol;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>The coordinator through real gRPC: CoordinatorHost on Kestrel at 127.0.0.1 port 0, Grpc.Net.Client.</summary>
public sealed class GrpcCoordinatorTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "peerdistill-coordinator-tests", Guid.NewGuid().ToString("N"));
    private CoordinatorHost _host = null!;
    private GrpcChannel _channel = null!;

    private WorkerRegistry.WorkerRegistryClient Registry => new(_channel);

    private CohortService.CohortServiceClient Cohorts => new(_channel);

    public async Task InitializeAsync()
    {
        _host = await CoordinatorHost.StartAsync(new CoordinatorOptions { OutputRoot = _root }, new GrpcServiceHostOptions { Port = 0 });
        _channel = GrpcChannels.ForAddress(_host.Address);
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
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10));
        var registered = await Registry.RegisterAsync(new RegisterWorkerRequest
        {
            WorkerId = "w1",
            Address = "127.0.0.1:7001",
            Slots = { new Slot { Index = 0, Device = "cpu", Threads = 1 }, new Slot { Index = 1, Device = "cpu", Threads = 1 } },
        }, options);
        Assert.Equal(("w1", 5000L), (registered.WorkerId, registered.LeaseMs));
        Assert.Empty((await Registry.HeartbeatAsync(new HeartbeatRequest { WorkerId = "w1" }, options)).Start);

        var submitted = await Cohorts.SubmitAsync(new SubmitCohortRequest { SpecText = TestSpecs.Smoke }, options);
        Assert.Equal("smoke", submitted.Cohort);

        var beat = await Registry.HeartbeatAsync(new HeartbeatRequest { WorkerId = "w1" }, options);
        Assert.Equal(["mlp", "cnn"], beat.Start.Select(a => a.Peer));
        Assert.Equal(2, beat.Peers.Count);

        var mlp = beat.Start[0];
        await Registry.HeartbeatAsync(new HeartbeatRequest { WorkerId = "w1", Peers = { Harness.Progress(mlp, PeerState.Active, step: 4) } }, options);

        var status = await Cohorts.GetCohortAsync(new GetCohortRequest { Cohort = "smoke" }, options);
        Assert.Equal((submitted.Run, CohortState.Running), (status.Run, status.State));
        Assert.Equal((PeerState.Active, 4L, "w1"), (status.Peers[0].State, status.Peers[0].Step, status.Peers[0].WorkerId));

        var missing = await Assert.ThrowsAsync<RpcException>(() => Registry.HeartbeatAsync(new HeartbeatRequest { WorkerId = "ghost" }, options).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("worker 'ghost' is not registered", missing.Status.Detail, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<RpcException>(() => Cohorts.SubmitAsync(new SubmitCohortRequest { SpecText = "cohort: x\n" }, options).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("peers: missing required field", invalid.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchCohort_StreamsUntilCancelled()
    {
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10));
        await Cohorts.SubmitAsync(new SubmitCohortRequest { SpecText = TestSpecs.Smoke }, options);
        using var watch = Cohorts.WatchCohort(new GetCohortRequest { Cohort = "smoke" }, options);
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(CohortState.Pending, watch.ResponseStream.Current.State);

        var cancel = await Cohorts.CancelCohortAsync(new CancelCohortRequest { Cohort = "smoke", Reason = "test" }, options);
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
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10));
        await Cohorts.SubmitAsync(new SubmitCohortRequest { SpecText = TestSpecs.Smoke }, options);
        using var watch = Cohorts.WatchCohort(new GetCohortRequest { Cohort = "smoke" }, options);
        Assert.True(await watch.ResponseStream.MoveNext());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _host.StopAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"stopping took {clock.Elapsed}");
        Assert.False(await watch.ResponseStream.MoveNext());
    }
}
