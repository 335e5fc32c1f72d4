using Microsoft.AspNetCore.Http;

namespace PeerDistill.Rpc;

/// <summary>What a server handler knows about its call, and how it shapes the response.</summary>
public abstract class ServerCallContext
{
    /// <summary>The method's path, <c>/{service}/{method}</c>.</summary>
    public abstract string Method { get; }

    /// <summary>The authority the client called.</summary>
    public abstract string Host { get; }

    /// <summary>The client's address, e.g. <c>ipv4:127.0.0.1:50412</c>.</summary>
    public abstract string Peer { get; }

    /// <summary>The call's deadline (UTC); <see cref="DateTime.MaxValue"/> when the client set none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>The request metadata (reserved and HTTP/2 headers left out).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Cancelled when the client cancels, the deadline passes or the connection drops.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Trailing metadata sent with the status.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The status the call ends with when the handler returns normally (default OK).</summary>
    public abstract Status Status { get; set; }

    /// <summary>State that interceptors and handlers share for this call.</summary>
    public abstract IDictionary<object, object> UserState { get; }

    /// <summary>Sends the response headers now, with <paramref name="responseHeaders"/>; at most once, before the first message.</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);

    /// <summary>The HTTP context of the call (for authentication, connection details).</summary>
    public abstract HttpContext GetHttpContext();
}
