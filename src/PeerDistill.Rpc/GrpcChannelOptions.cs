using System.Net.Security;

namespace PeerDistill.Rpc;

/// <summary>Options of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>The largest response message accepted, in bytes (default 4 MiB); larger ones fail the call with ResourceExhausted. Null: no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = Internal.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest request message sent, in bytes (default: no limit); larger ones fail the call with ResourceExhausted before anything is sent.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Compresses request messages with this encoding (<c>gzip</c>); null: identity. A call's <see cref="CallOptions.RequestCompression"/> wins.</summary>
    public string? RequestCompression { get; set; }

    /// <summary>The message encodings understood besides identity (default: gzip).</summary>
    public IList<ICompressionProvider> CompressionProviders { get; } = [new GzipCompressionProvider()];

    /// <summary>How long a connection may be idle before an HTTP/2 PING checks it (default 60 s; <see cref="Timeout.InfiniteTimeSpan"/>: never).</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a ping may go unanswered before the connection is dropped and its calls fail with Unavailable.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long to wait for a TCP connection (default 10 s).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/2 flow-control window per stream for responses, in bytes.</summary>
    public int StreamWindowSize { get; set; } = 1024 * 1024;

    /// <summary>Checks the server certificate of <c>https</c> addresses; null: the system's trust store.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Sends calls through this handler instead of the channel's own (tests, proxies); the channel does not dispose it.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}
