namespace PeerDistill.Api.Storage;

/// <summary>What <see cref="DatabaseMigrator.MigrateAsync"/> did: the schema version it found and the one it left (equal when nothing was applied).</summary>
public sealed record MigrationResult(int FromVersion, int ToVersion)
{
    /// <summary>Whether any migration was applied.</summary>
    public bool Applied => ToVersion > FromVersion;
}
