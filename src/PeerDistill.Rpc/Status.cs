namespace PeerDistill.Rpc;

/// <summary>The outcome of a call: a code and a human-readable detail (the <c>grpc-message</c>).</summary>
/// <param name="StatusCode">The status code.</param>
/// <param name="Detail">The message sent with the status; empty for none.</param>
/// <param name="DebugException">A local exception behind the status, never sent on the wire.</param>
public readonly record struct Status(StatusCode StatusCode, string Detail, Exception? DebugException = null)
{
    /// <summary>The successful status.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, string.Empty);

    /// <summary>The status of a call cancelled by its caller.</summary>
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, string.Empty);

    /// <inheritdoc/>
    public override string ToString() =>
        DebugException is null
            ? $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")"
            : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\", DebugException=\"{DebugException.GetType()}: {DebugException.Message}\")";
}
