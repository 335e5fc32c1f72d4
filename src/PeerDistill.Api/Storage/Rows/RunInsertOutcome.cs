namespace PeerDistill.Api.Storage;

/// <summary>What inserting a run did.</summary>
internal enum RunInsertOutcome
{
    /// <summary>The run was inserted.</summary>
    Created,

    /// <summary>The idempotency key was used before by the same request: nothing inserted, the earlier run is returned.</summary>
    Replayed,

    /// <summary>The idempotency key was used before by a different request: nothing inserted, the earlier run is returned.</summary>
    KeyReused,

    /// <summary>The cohort already has a run with that id: nothing inserted, that run is returned.</summary>
    RunExists,
}
