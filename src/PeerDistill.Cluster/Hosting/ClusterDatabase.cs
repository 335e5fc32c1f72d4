namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// The database a silo keeps grain state in (Orleans' ADO.NET grain storage) and, on PostgreSQL,
/// forms the cluster through (Orleans' ADO.NET membership). Its schema, including the
/// <c>OrleansQuery</c> rows Orleans reads, is the coordinator's migrations' to create.
/// </summary>
/// <param name="Invariant">The ADO.NET invariant: <see cref="SqliteInvariant"/> or <see cref="PostgresInvariant"/>.</param>
/// <param name="ConnectionString">The connection string (a secret: never logged).</param>
public sealed record ClusterDatabase(string Invariant, string ConnectionString)
{
    /// <summary>SQLite's invariant in Orleans: it loads Microsoft.Data.Sqlite (the name "Microsoft.Data.Sqlite" itself is refused).</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>PostgreSQL's invariant in Orleans (Npgsql).</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>The grain storage provider's name (the cluster's grains' <c>[PersistentState(..., GrainStorageName)]</c>).</summary>
    public const string GrainStorageName = "peerdistill";

    /// <summary>Whether the silos form the cluster through this database (PostgreSQL only: Orleans has no SQLite membership).</summary>
    public bool HostsMembership => Invariant == PostgresInvariant;

    /// <summary>The connection string stays out of logs and exception messages.</summary>
    public override string ToString() => $"ClusterDatabase {{ Invariant = {Invariant} }}";

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public void Validate()
    {
        if (Invariant is not (SqliteInvariant or PostgresInvariant))
        {
            throw new ArgumentException($"database invariant '{Invariant}' is neither '{SqliteInvariant}' nor '{PostgresInvariant}'");
        }

        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"the {Invariant} database has no connection string");
        }
    }
}
