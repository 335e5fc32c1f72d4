using Microsoft.Data.Sqlite;
using PeerDistill.Api.Storage;
using PeerDistill.Cluster.Hosting;
using Xunit;

namespace PeerDistill.Api.Tests.Storage;

public sealed class DatabaseOptionsTests
{
    [Fact]
    public void Defaults_SqliteFileInDataDirectory_WithForeignKeysAndBusyWait()
    {
        var options = new DatabaseOptions();
        Assert.Empty(options.Problems());
        var builder = new SqliteConnectionStringBuilder(options.EffectiveConnectionString("/var/lib/peerdistill"));
        Assert.Equal("/var/lib/peerdistill/peerdistill.db", builder.DataSource);
        Assert.True(builder.ForeignKeys);
        Assert.Equal(DatabaseOptions.DefaultSqliteBusySeconds, builder.DefaultTimeout);
        Assert.Equal(new ClusterDatabase("System.Data.SQLite", builder.ConnectionString), options.ForCluster("/var/lib/peerdistill"));
        Assert.False(options.ForCluster("/d").HostsMembership);
    }

    [Fact]
    public void Postgres_ConnectionStringGiven_NpgsqlInvariantAndMembership()
    {
        var options = new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = "Host=db;Database=pd;Username=pd;Password=secret" };
        Assert.Empty(options.Problems());
        var cluster = options.ForCluster("/unused");
        Assert.Equal("Npgsql", cluster.Invariant);
        Assert.True(cluster.HostsMembership);
        Assert.DoesNotContain("secret", cluster.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_NameEachWrongKey()
    {
        Assert.Equal(["ConnectionString"], new DatabaseOptions { Provider = DatabaseProvider.Postgres }.Problems().Select(p => p.Key));
        Assert.Equal(["ConnectionString"], new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = "Hots=db" }.Problems().Select(p => p.Key));
        Assert.Equal(["SqliteBusySeconds"], new DatabaseOptions { SqliteBusySeconds = 0 }.Problems().Select(p => p.Key));
        Assert.Equal(["Provider"], new DatabaseOptions { Provider = (DatabaseProvider)7 }.Problems().Select(p => p.Key));
    }

    [Fact]
    public void ClusterDatabase_UnknownInvariant_Refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClusterDatabase("Microsoft.Data.Sqlite", "Data Source=x.db").Validate());
        Assert.Contains("'Microsoft.Data.Sqlite' is neither 'System.Data.SQLite' nor 'Npgsql'", e.Message, StringComparison.Ordinal);
    }
}
