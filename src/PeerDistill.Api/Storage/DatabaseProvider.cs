namespace PeerDistill.Api.Storage;

/// <summary>Which database engine the coordinator keeps its state in.</summary>
public enum DatabaseProvider
{
    /// <summary>One SQLite file in the coordinator's data directory (no set-up; one machine).</summary>
    Sqlite,

    /// <summary>A PostgreSQL server, by connection string (silos also form the cluster through it).</summary>
    Postgres,
}
