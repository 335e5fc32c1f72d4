using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Orleans.Storage;
using PeerDistill.Cluster.Cohorts;
using Xunit;

namespace PeerDistill.Cluster.Tests.Storage;

/// <summary>The file grain storage: missing state, round trip, the ETag fence, and state that outlives the storage instance.</summary>
public sealed class ClusterStorageTests : IDisposable
{
    private const string StateName = "cohort";

    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("peerdistill-storage-");
    private readonly GrainId _grain = GrainId.Create("cohort", "trio/trio-20250102-030405");

    public void Dispose() => _root.Delete(recursive: true);

    private ClusterStorage NewStorage() => new(() => _root.FullName, Serializer, NullLogger<ClusterStorage>.Instance);

    private static CohortRecord Record(long version) => new()
    {
        Cohort = "trio",
        Run = "trio-20250102-030405",
        State = CohortState.Running,
        Version = version,
        Peers = [new PeerRecord { Name = "mlp", Generation = 2, Placed = true, Silo = "127.0.0.1:11112@1", WorkerId = "w1", LastCheckpointStep = 40 }],
        Events = [new CohortEvent(1, "mlp", EventKinds.Reactivated, "generation 2 on worker 'w1' slot 0, resuming from step 40")],
    };

    [Fact]
    public async Task ReadMissing_RecordDoesNotExist_FreshState()
    {
        var state = new GrainState<CohortRecord>(new CohortRecord());

        await NewStorage().ReadStateAsync(StateName, _grain, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.NotNull(state.State);
        Assert.False(state.State.IsStarted);
    }

    [Fact]
    public async Task WriteThenRead_RoundTrips()
    {
        var storage = NewStorage();
        var written = new GrainState<CohortRecord> { State = Record(7) };

        await storage.WriteStateAsync(StateName, _grain, written);
        var read = new GrainState<CohortRecord>(new CohortRecord());
        await storage.ReadStateAsync(StateName, _grain, read);

        Assert.True(written.RecordExists);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(("trio", CohortState.Running, 7L), (read.State!.Cohort, read.State!.State, read.State!.Version));
        var mlp = Assert.Single(read.State!.Peers);
        Assert.Equal(("mlp", 2UL, true, "w1", 40L), (mlp.Name, mlp.Generation, mlp.Placed, mlp.WorkerId, mlp.LastCheckpointStep));
        Assert.Equal(Record(7).Events, read.State!.Events);
        Assert.Empty(Directory.GetFiles(_root.FullName, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task WriteWithAStaleETag_InconsistentState_StoredStateKept()
    {
        var storage = NewStorage();
        var first = new GrainState<CohortRecord>(new CohortRecord());
        var second = new GrainState<CohortRecord>(new CohortRecord());
        await storage.ReadStateAsync(StateName, _grain, first);
        await storage.ReadStateAsync(StateName, _grain, second);
        first.State = Record(1);
        await storage.WriteStateAsync(StateName, _grain, first);

        second.State = Record(2);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, _grain, second));

        var read = new GrainState<CohortRecord>(new CohortRecord());
        await storage.ReadStateAsync(StateName, _grain, read);
        Assert.Equal(1L, read.State!.Version);
        first.State = Record(3);
        await storage.WriteStateAsync(StateName, _grain, first); // the activation that holds the fresh ETag still writes
    }

    [Fact]
    public async Task NewStorageOnTheSameRoot_ReadsTheState()
    {
        var written = new GrainState<CohortRecord> { State = Record(5) };
        await NewStorage().WriteStateAsync(StateName, _grain, written);

        var read = new GrainState<CohortRecord>(new CohortRecord());
        await NewStorage().ReadStateAsync(StateName, _grain, read);
        var other = new GrainState<CohortRecord>(new CohortRecord());
        await NewStorage().ReadStateAsync(StateName, GrainId.Create("cohort", "trio/other"), other);

        Assert.True(read.RecordExists);
        Assert.Equal((5L, written.ETag), (read.State!.Version, read.ETag));
        Assert.False(other.RecordExists);
    }

    [Fact]
    public async Task Clear_ThenRead_RecordDoesNotExist()
    {
        var storage = NewStorage();
        var state = new GrainState<CohortRecord> { State = Record(1) };
        await storage.WriteStateAsync(StateName, _grain, state);

        await storage.ClearStateAsync(StateName, _grain, state);
        var read = new GrainState<CohortRecord>(new CohortRecord());
        await storage.ReadStateAsync(StateName, _grain, read);

        Assert.False(state.RecordExists);
        Assert.False(read.RecordExists);
    }
}
