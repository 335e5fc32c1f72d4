using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Api.Rest;

/// <summary>
/// Kestrel's REST listener: HTTP/1.1 on the coordinator's HTTP port. (A cleartext port speaks one
/// protocol: gRPC keeps HTTP/2 on its own port; browsers, curl and REST clients use this one.)
/// </summary>
internal sealed class RestListenerSetup(IOptions<CoordinatorOptions> coordinator, ServerListeners listeners) : IConfigureOptions<KestrelServerOptions>
{
    /// <summary>The REST listener's name among the server's listeners.</summary>
    public const string Listener = "http";

    public void Configure(KestrelServerOptions kestrel)
    {
        var options = coordinator.Value;
        kestrel.Listen(IPAddress.Parse(options.Host), options.HttpPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listeners.Add(Listener, listen, tls: false);
        });
    }
}
