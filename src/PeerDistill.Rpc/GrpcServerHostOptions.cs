namespace PeerDistill.Rpc;

/// <summary>Where and how a <see cref="GrpcServerHost"/> listens.</summary>
public sealed class GrpcServerHostOptions
{
    /// <summary>The address to bind (default loopback); <c>0.0.0.0</c> or <c>::</c> for every interface.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port; 0 picks a free one (see <see cref="GrpcServerHost.Port"/>).</summary>
    public int Port { get; set; }

    /// <summary>A PEM certificate (or a PKCS#12 file) for TLS; without one the server speaks h2c (HTTP/2 over plain TCP).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/> (not needed for PKCS#12).</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>The password of a PKCS#12 certificate or an encrypted key.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>How long a connection may be idle before the server pings it (HTTP/2 PING).</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a ping may go unanswered before the connection is closed.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>HTTP/2 flow-control window per stream, in bytes: how much a sender may have in flight on one call before the receiver reads.</summary>
    public int StreamWindowSize { get; set; } = 1024 * 1024;

    /// <summary>Concurrent calls per connection.</summary>
    public int MaxStreamsPerConnection { get; set; } = 1000;

    /// <summary>Options of the gRPC layer (message limits, compression, interceptors).</summary>
    public Action<GrpcServerOptions>? ConfigureGrpc { get; set; }

    /// <summary>The lowest level of the host's own log (Kestrel, routing); gRPC refusals log at Information.</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Warning;
}
