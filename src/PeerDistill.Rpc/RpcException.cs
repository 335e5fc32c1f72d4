namespace PeerDistill.Rpc;

/// <summary>
/// A call ended with a status other than OK. Thrown by client calls; thrown by a server handler to
/// end its call with a specific code and message (any other exception becomes Unknown, without
/// its details).
/// </summary>
public sealed class RpcException : Exception
{
    /// <summary>Creates an exception for <paramref name="status"/>.</summary>
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    /// <summary>Creates an exception for <paramref name="status"/> with trailing metadata.</summary>
    public RpcException(Status status, Metadata trailers)
        : base(status.ToString(), status.DebugException)
    {
        Status = status;
        Trailers = trailers;
    }

    /// <summary>Creates an exception for a code and detail.</summary>
    public RpcException(StatusCode code, string detail)
        : this(new Status(code, detail))
    {
    }

    /// <summary>The status of the call.</summary>
    public Status Status { get; }

    /// <summary>The status code of the call.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>The call's trailing metadata (server: sent with the status; client: as received).</summary>
    public Metadata Trailers { get; }
}
