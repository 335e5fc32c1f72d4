namespace PeerDistill.Cluster.Transport;

/// <summary>Where and how a process's gRPC listener listens (<see cref="GrpcHosting.AddPeerDistillGrpc"/>). Every default is a constant here.</summary>
public sealed class GrpcServiceHostOptions
{
    /// <summary>The largest request message a server accepts (4 MiB, gRPC's usual default); larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>The address to bind (default loopback); <c>0.0.0.0</c> or <c>::</c> for every interface.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port; 0 picks a free one (see <see cref="GrpcHosting.GrpcAddress"/>).</summary>
    public int Port { get; set; }

    /// <summary>
    /// With TLS (a process with <see cref="Security.ClusterCredentials"/>): whether a client must
    /// present a certificate of the cluster's authority (a worker's exchange port), or none is asked
    /// for (the coordinator's API port: its callers authenticate otherwise). Default false.
    /// </summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>How long a connection may be idle before the server pings it (HTTP/2 PING), default 60 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a ping may go unanswered before the connection is closed, default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>HTTP/2 flow-control window per stream, in bytes (default 1 MiB): how much a sender may have in flight on one call before the receiver reads.</summary>
    public int StreamWindowSize { get; set; } = 1024 * 1024;

    /// <summary>Concurrent calls per connection (default 1000).</summary>
    public int MaxStreamsPerConnection { get; set; } = 1000;

    /// <summary>The largest request message accepted, in bytes (default <see cref="DefaultMaxReceiveMessageSize"/>).</summary>
    public int? MaxReceiveMessageSize { get; set; } = DefaultMaxReceiveMessageSize;
}
