using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using PeerDistill.Cluster.Security;

namespace PeerDistill.Cluster.Transport;

/// <summary>TLS on a Kestrel listener with a process's <see cref="ClusterCredentials"/>: the one way every listener of PeerDistill serves TLS.</summary>
public static class ClusterTlsListener
{
    /// <summary>
    /// Serves TLS on <paramref name="listen"/> with the certificate current at each handshake (files
    /// replaced on disk are used without a restart), HTTP/1.1 and HTTP/2 both offered (ALPN
    /// <c>h2</c> and <c>http/1.1</c>): gRPC and REST clients share the port. With
    /// <paramref name="requireClientCertificate"/> a client must present a certificate of the cluster's
    /// authority (refusals are logged by <see cref="TlsRefusals"/>); without it none is asked for.
    /// </summary>
    public static ListenOptions UseClusterTls(this ListenOptions listen, ClusterCredentials credentials, bool requireClientCertificate)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(credentials);
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        return listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(credentials.ServerOptions(requireClientCertificate)),
        });
    }
}
