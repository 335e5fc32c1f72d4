namespace PeerDistill.Api.Storage;

/// <summary>What a conditional state change did.</summary>
internal enum RunUpdateOutcome
{
    /// <summary>Changed; the version grew by one.</summary>
    Updated,

    /// <summary>No such run.</summary>
    NotFound,

    /// <summary>The run's version is not the one expected (a stale If-Match): nothing changed.</summary>
    VersionConflict,
}
