namespace PeerDistill.Rpc;

/// <summary>The gRPC status codes (numbers as on the wire, in the <c>grpc-status</c> trailer).</summary>
public enum StatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,
    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,
    /// <summary>An error with no better code; also what a handler's unexpected exception becomes.</summary>
    Unknown = 2,
    /// <summary>The client gave an argument that is invalid whatever the system's state.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline passed before the operation completed.</summary>
    DeadlineExceeded = 4,
    /// <summary>A requested entity was not found.</summary>
    NotFound = 5,
    /// <summary>The entity the client tried to create already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller may not execute the operation.</summary>
    PermissionDenied = 7,
    /// <summary>A resource ran out (also: a message over the size limit).</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in the state the operation needs (for example an old generation).</summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted, typically by a concurrency conflict.</summary>
    Aborted = 10,
    /// <summary>The operation went past the valid range.</summary>
    OutOfRange = 11,
    /// <summary>The operation is not implemented or not supported (also: an unknown method).</summary>
    Unimplemented = 12,
    /// <summary>An invariant of the underlying system broke (also: protocol violations).</summary>
    Internal = 13,
    /// <summary>The service is unavailable right now; retrying may succeed.</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,
    /// <summary>The request has no valid authentication credentials.</summary>
    Unauthenticated = 16,
}
