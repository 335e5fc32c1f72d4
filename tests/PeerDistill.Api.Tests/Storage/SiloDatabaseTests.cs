using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Storage;
using PeerDistill.Api.Storage;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using PeerDistill.Tests.Shared;
using Xunit;

namespace PeerDistill.Api.Tests.Storage;

/// <summary>PeerDistill silos on the database: grain state through Orleans' ADO.NET storage on both engines, membership through PostgreSQL.</summary>
public sealed class SiloDatabaseTests
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task GrainState_WrittenDeactivatedReadBack_StaleWriteRefused(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "grainstate");
        await db.Migrator().MigrateAsync();
        var root = Directory.CreateTempSubdirectory("peerdistill-silo-");
        try
        {
            using var host = await StartSiloAsync(Settings(SiloRoles.Coordinator, "coordinator", db, root.FullName));
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var probe = grains.GetGrain<IProbeGrain>("cohort-a/run-1");
            Assert.Equal((null, null), Strip(await probe.Read()));
            Assert.Equal("1", await probe.Write("first"));
            Assert.Equal("2", await probe.Write("second"));

            var before = await probe.Read();
            await probe.Deactivate();
            var after = await WaitForNewActivationAsync(probe, before.Activation);
            Assert.Equal(("second", "2"), (after.Value, after.ETag));

            // Another writer moves the stored version on: this activation's ETag is stale.
            await MigrationTests.ExecuteAsync(db, "UPDATE OrleansStorage SET Version = Version + 1");
            await Assert.ThrowsAsync<InconsistentStateException>(() => probe.Write("stale"));

            var fresh = await WaitForNewActivationAsync(probe, after.Activation);
            Assert.Equal(("second", "3"), (fresh.Value, fresh.ETag));
            Assert.Equal("4", await probe.Write("third"));
            await probe.Clear();
            Assert.Equal((null, "5"), Strip(await probe.Read()));

            // One row per grain state, keyed by the state name and the grain's key.
            Assert.Equal([1L], await MigrationTests.ColumnAsync<long>(db, "SELECT COUNT(*) FROM OrleansStorage"));
            await host.StopAsync();
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [PostgresFact]
    public async Task TwoSilos_OnPostgres_FormOneClusterThroughTheMembershipTable()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Postgres, "cluster");
        await db.Migrator().MigrateAsync();
        var root = Directory.CreateTempSubdirectory("peerdistill-silo-");
        try
        {
            var clusterId = $"test-{Guid.NewGuid():N}";
            using var coordinator = await StartSiloAsync(Settings(SiloRoles.Coordinator, "coordinator", db, root.FullName, clusterId));

            // The worker is given no primary endpoint: it finds the coordinator in the table.
            using var worker = await StartSiloAsync(Settings(SiloRoles.Worker, "w1", db, null, clusterId));
            var management = coordinator.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            Dictionary<SiloAddress, SiloStatus> hosts;
            do
            {
                hosts = await management.GetHosts(onlyActive: true);
            }
            while (hosts.Count < 2 && DateTime.UtcNow < deadline && await Delay());
            Assert.Equal(2, hosts.Count);

            var rows = await MigrationTests.ColumnAsync<string>(db, "SELECT siloname || ':' || status FROM orleansmembershiptable ORDER BY siloname");
            Assert.Equal(["coordinator:3", "w1:3"], rows);

            await worker.StopAsync();
            await coordinator.StopAsync();
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }

    private static (string? Value, string? ETag) Strip((string? Value, string? ETag, Guid Activation) read) => (read.Value, read.ETag);

    private static async Task<(string? Value, string? ETag, Guid Activation)> WaitForNewActivationAsync(IProbeGrain probe, Guid old)
    {
        // DeactivateOnIdle takes effect after the current call; the next call after it activates anew.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var read = await probe.Read();
            if (read.Activation != old || DateTime.UtcNow > deadline)
            {
                return read;
            }

            await Task.Delay(20);
        }
    }

    private static SiloSettings Settings(string role, string name, TestDatabase db, string? root, string clusterId = "test")
    {
        var database = new ClusterDatabase(db.Provider == DatabaseProvider.Postgres ? ClusterDatabase.PostgresInvariant : ClusterDatabase.SqliteInvariant, db.ConnectionString);
        return new SiloSettings
        {
            Role = role,
            Name = name,
            SiloPort = FreePort.Resolve(IPAddress.Loopback, 0),
            ClusterId = clusterId,
            Database = database,
            OutputRoot = root,
            Slots = role == SiloRoles.Worker ? [new SlotDescriptor(0, "cpu", 1)] : [],
        };
    }

    private static async Task<IHost> StartSiloAsync(SiloSettings settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.AddPeerDistill(settings));

        // This assembly's FakeCluster classes implement the cohort grains' interfaces (for the API
        // tests without a silo); a real silo must see only the real grains under those names.
        builder.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.RemoveWhere(t => t.DeclaringType == typeof(FakeCluster)));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
