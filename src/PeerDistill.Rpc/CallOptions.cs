namespace PeerDistill.Rpc;

/// <summary>Options of one client call.</summary>
/// <param name="Headers">Request metadata sent with the call.</param>
/// <param name="Deadline">When the call must be complete (UTC); sent as <c>grpc-timeout</c> and enforced here too.</param>
/// <param name="CancellationToken">Cancels the call (the server sees the stream reset).</param>
/// <param name="RequestCompression">Compresses request messages with this encoding (<c>gzip</c>), overriding the channel's choice.</param>
public readonly record struct CallOptions(
    Metadata? Headers = null,
    DateTime? Deadline = null,
    CancellationToken CancellationToken = default,
    string? RequestCompression = null)
{
    /// <summary>The same options with a deadline <paramref name="timeout"/> from now.</summary>
    public CallOptions WithTimeout(TimeSpan timeout) => this with { Deadline = DateTime.UtcNow + timeout };
}
