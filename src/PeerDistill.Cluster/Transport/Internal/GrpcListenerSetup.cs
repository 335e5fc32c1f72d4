using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Security;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>
/// Kestrel's gRPC listener and the server's limits, from <see cref="GrpcServiceHostOptions"/>: h2c, or
/// TLS when the process has <see cref="ClusterCredentials"/> (<see cref="ClusterTlsListener"/>).
/// </summary>
internal sealed class GrpcListenerSetup(IOptions<GrpcServiceHostOptions> grpc, ServerListeners listeners, ClusterCredentials? credentials = null) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var options = grpc.Value;
        kestrel.AddServerHeader = false;
        kestrel.Limits.MinRequestBodyDataRate = null;
        kestrel.Limits.MinResponseDataRate = null;
        // gRPC streams (the exchange) carry any number of messages; each is bounded by MaxReceiveMessageSize.
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
        kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
        kestrel.Limits.Http2.InitialStreamWindowSize = options.StreamWindowSize;
        kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(options.StreamWindowSize * 2, 2 * 1024 * 1024);
        kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
        kestrel.Listen(IPAddress.Parse(options.Host), options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (credentials is not null)
            {
                listen.UseClusterTls(credentials, options.RequireClientCertificate);
            }

            listeners.Add(ServerListeners.Grpc, listen, credentials is not null);
        });
    }
}
