using Microsoft.Data.Sqlite;
using Npgsql;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Api.Storage;

/// <summary>
/// Where the coordinator keeps runs, events, metrics and Orleans' grain state: SQLite by default (a
/// file in the data directory), PostgreSQL when a connection string is given. Bound from the
/// configuration section <see cref="Section"/>; every default is a constant here.
/// </summary>
public sealed class DatabaseOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "Database";

    /// <summary>The engine unless told otherwise: SQLite, which needs no set-up.</summary>
    public const DatabaseProvider DefaultProvider = DatabaseProvider.Sqlite;

    /// <summary>The SQLite file's name in the data directory unless <see cref="ConnectionString"/> names another.</summary>
    public const string DefaultSqliteFile = "peerdistill.db";

    /// <summary>
    /// How long a SQLite command waits for another connection's write lock before it fails, in
    /// seconds (SQLite has one writer at a time; Orleans, the API and the metrics writer share it).
    /// </summary>
    public const int DefaultSqliteBusySeconds = 30;

    /// <summary>The ADO.NET invariant Orleans' providers take for SQLite (it loads Microsoft.Data.Sqlite; the name "Microsoft.Data.Sqlite" is refused).</summary>
    public const string SqliteInvariant = ClusterDatabase.SqliteInvariant;

    /// <summary>The ADO.NET invariant Orleans' providers take for PostgreSQL (Npgsql).</summary>
    public const string PostgresInvariant = ClusterDatabase.PostgresInvariant;

    /// <summary>The engine (default <see cref="DefaultProvider"/>).</summary>
    public DatabaseProvider Provider { get; set; } = DefaultProvider;

    /// <summary>
    /// The connection string: required for PostgreSQL (<c>Host=...;Database=...;Username=...</c>);
    /// for SQLite optional (default: <c>Data Source=&lt;data directory&gt;/</c><see cref="DefaultSqliteFile"/>).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite only: seconds a command waits for the write lock (default <see cref="DefaultSqliteBusySeconds"/>).</summary>
    public int SqliteBusySeconds { get; set; } = DefaultSqliteBusySeconds;

    /// <summary>How the metrics history is buffered and written (<c>Coordinator:Database:Metrics:*</c>).</summary>
    public MetricsWriterOptions Metrics { get; set; } = new();

    /// <summary>The invariant name Orleans' ADO.NET providers need for <see cref="Provider"/>.</summary>
    public string OrleansInvariant => Provider == DatabaseProvider.Postgres ? PostgresInvariant : SqliteInvariant;

    /// <summary>Each problem of these options: the key (under <see cref="Section"/>) and what is wrong with it.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (!Enum.IsDefined(Provider))
        {
            yield return (nameof(Provider), $"'{Provider}' is neither '{DatabaseProvider.Sqlite}' nor '{DatabaseProvider.Postgres}'");
            yield break;
        }

        if (Provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return (nameof(ConnectionString), "is empty; PostgreSQL needs a connection string (Host=...;Database=...;Username=...)");
        }
        else if (!string.IsNullOrWhiteSpace(ConnectionString) && ParseProblem() is { } problem)
        {
            yield return (nameof(ConnectionString), problem);
        }

        if (Provider == DatabaseProvider.Sqlite && SqliteBusySeconds is < 1 or > 3600)
        {
            yield return (nameof(SqliteBusySeconds), $"{SqliteBusySeconds} is out of range (1 to 3600 seconds)");
        }

        foreach (var (key, message) in Metrics.Problems())
        {
            yield return (nameof(Metrics) + ":" + key, message);
        }
    }

    /// <summary>
    /// The connection string the store and Orleans use: the given one, or for SQLite the file
    /// <see cref="DefaultSqliteFile"/> in <paramref name="dataDirectory"/>; SQLite's always gets
    /// foreign keys on and the busy wait of <see cref="SqliteBusySeconds"/>.
    /// </summary>
    public string EffectiveConnectionString(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        if (Provider == DatabaseProvider.Postgres)
        {
            return new NpgsqlConnectionStringBuilder(ConnectionString).ConnectionString;
        }

        var builder = string.IsNullOrWhiteSpace(ConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(Path.Combine(dataDirectory, DefaultSqliteFile)) }
            : new SqliteConnectionStringBuilder(ConnectionString);
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.ForeignKeys = true;
        builder.Pooling = true;
        builder.DefaultTimeout = SqliteBusySeconds;
        return builder.ConnectionString;
    }

    /// <summary>The database, for people: where it is, never its credentials.</summary>
    public string Describe(string dataDirectory)
    {
        if (Provider == DatabaseProvider.Postgres)
        {
            var postgres = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"the PostgreSQL database '{postgres.Database}' at {postgres.Host}:{postgres.Port} (user '{postgres.Username}')";
        }

        return $"the SQLite file '{new SqliteConnectionStringBuilder(EffectiveConnectionString(dataDirectory)).DataSource}'";
    }

    /// <summary>The database Orleans' silos use (grain storage; on PostgreSQL also membership).</summary>
    public ClusterDatabase ForCluster(string dataDirectory) => new(OrleansInvariant, EffectiveConnectionString(dataDirectory));

    private string? ParseProblem()
    {
        try
        {
            _ = Provider == DatabaseProvider.Postgres
                ? new NpgsqlConnectionStringBuilder(ConnectionString).ConnectionString
                : new SqliteConnectionStringBuilder(ConnectionString).ConnectionString;
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            return $"is not a valid {Provider} connection string: {e.Message}";
        }
    }
}
