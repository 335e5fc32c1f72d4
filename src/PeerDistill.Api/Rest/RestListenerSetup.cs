using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Api.Rest;

/// <summary>
/// Kestrel's REST listener on the coordinator's HTTP port: cleartext HTTP/1.1 (a cleartext port speaks
/// one protocol: gRPC keeps HTTP/2 on its own port; browsers, curl and REST clients use this one), or,
/// when the coordinator has TLS credentials, TLS with HTTP/1.1 and HTTP/2 (then REST and gRPC answer
/// on either port).
/// </summary>
internal sealed class RestListenerSetup(IOptions<CoordinatorOptions> coordinator, ServerListeners listeners, ClusterCredentials? credentials = null) : IConfigureOptions<KestrelServerOptions>
{
    /// <summary>The REST listener's name among the server's listeners.</summary>
    public const string Listener = "http";

    public void Configure(KestrelServerOptions kestrel)
    {
        var options = coordinator.Value;
        kestrel.Listen(IPAddress.Parse(options.Host), options.HttpPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (credentials is not null)
            {
                listen.UseClusterTls(credentials, requireClientCertificate: false);
            }

            listeners.Add(Listener, listen, tls: credentials is not null);
        });
    }
}
