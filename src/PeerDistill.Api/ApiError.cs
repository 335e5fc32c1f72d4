namespace PeerDistill.Api;

/// <summary>What kind of refusal a <see cref="CohortApiException"/> is (the gRPC service maps each to a status code).</summary>
public enum ApiError
{
    /// <summary>The request is wrong (an invalid spec, a place outside the roots, an empty name).</summary>
    InvalidArgument,

    /// <summary>No such cohort or run.</summary>
    NotFound,

    /// <summary>The cohort has a run that has not ended.</summary>
    AlreadyExists,

    /// <summary>The cluster cannot answer now (a silo is being replaced); try again.</summary>
    Unavailable,

    /// <summary>The run changed since the version the caller acted on (a stale If-Match).</summary>
    StaleVersion,

    /// <summary>An idempotency key sent again with another request.</summary>
    KeyReused,

    /// <summary>The run's state does not allow it (resume a running run, pause or change a finished one).</summary>
    FailedPrecondition,

    /// <summary>The caller's credential does not allow it (a project's admin acting on another project's tokens).</summary>
    PermissionDenied,
}
