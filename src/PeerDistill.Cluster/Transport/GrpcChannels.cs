using System.Net;
using System.Net.Security;
using Grpc.Core;
using Grpc.Net.Client;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// Grpc.Net.Client channels as every PeerDistill process opens them: h2c for <c>http://</c>
/// (prior knowledge, no upgrade), TLS with ALPN h2 for <c>https://</c> (the server checked as the given
/// TLS settings say, by default against the system's trust store), keep-alive pings on idle connections, several HTTP/2 connections
/// when one is full, no proxy, gRPC's 4 MiB receive limit, and a short reconnect backoff (an address
/// that went away is tried again within 2 s, not the default's up to 120 s).
/// </summary>
public static class GrpcChannels
{
    /// <summary>How long an idle connection waits before it pings the server.</summary>
    public static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(60);

    /// <summary>How long a ping may go unanswered before the connection is given up.</summary>
    public static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long connecting may take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The first wait before connecting again to an address that refused (Grpc.Net.Client's default is
    /// 1 s). A coordinator restarted on its port, or a worker back at its address, is used again
    /// within <see cref="MaxReconnectBackoff"/>, as the exchange links' own retry does.
    /// </summary>
    public static readonly TimeSpan InitialReconnectBackoff = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between connection attempts (Grpc.Net.Client's default is 120 s).</summary>
    public static readonly TimeSpan MaxReconnectBackoff = TimeSpan.FromSeconds(2);

    /// <summary>HTTP/2 flow-control window per stream on the client side, in bytes.</summary>
    public const int StreamWindowSize = 1024 * 1024;

    /// <summary>A channel to <paramref name="address"/>: <c>http://host:port</c>, <c>https://host:port</c> or <c>host:port</c> (h2c).</summary>
    public static GrpcChannel ForAddress(string address) => ForAddress(Parse(address));

    /// <summary>
    /// A channel to <paramref name="address"/> whose every call carries <paramref name="bearerToken"/>
    /// (when not null) in its <c>authorization</c> metadata, also over h2c (the token then crosses the
    /// network in clear: loopback, or a network the operator trusts).
    /// </summary>
    /// <remarks><paramref name="tls"/>, for an https address: whom to trust and what to present (<see cref="Security.ClusterCertificates.TrustServersOf"/> for an API client).</remarks>
    public static GrpcChannel ForAddress(string address, string? bearerToken, SslClientAuthenticationOptions? tls = null) => ForAddress(Parse(address), bearerToken, tls);

    /// <summary>
    /// A channel to <paramref name="address"/> with the TLS client settings <paramref name="tls"/> for an
    /// https address (between nodes: <see cref="Security.ClusterCredentials.ClientOptions"/>, the node's
    /// certificate presented, the server's checked against the cluster's authority); no token.
    /// </summary>
    public static GrpcChannel ForAddress(string address, SslClientAuthenticationOptions? tls) => ForAddress(Parse(address), bearerToken: null, tls);

    /// <summary>The URI of a gRPC address (<c>http://host:port</c>, <c>https://host:port</c> or <c>host:port</c>, which means h2c).</summary>
    /// <exception cref="ArgumentException">Not such an address.</exception>
    public static Uri Parse(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{address}' is not a gRPC address (expected http://host:port, https://host:port or host:port)", nameof(address));
        }

        return uri;
    }

    /// <summary>
    /// A channel to <paramref name="address"/> (<c>http</c>: h2c; <c>https</c>: TLS with ALPN h2, as
    /// <paramref name="tls"/> says, else against the system's trust store), its calls carrying
    /// <paramref name="bearerToken"/> when one is given.
    /// </summary>
    public static GrpcChannel ForAddress(Uri address, string? bearerToken = null, SslClientAuthenticationOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = KeepAlivePingDelay,
            KeepAlivePingTimeout = KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = ConnectTimeout,
            InitialHttp2StreamWindowSize = StreamWindowSize,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        };
        if (tls is not null && address.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = tls;
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = GrpcServiceHostOptions.DefaultMaxReceiveMessageSize,
            InitialReconnectBackoff = InitialReconnectBackoff,
            MaxReconnectBackoff = MaxReconnectBackoff,
            Credentials = bearerToken is null ? null : ChannelCredentials.Create(
                address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
                CallCredentials.FromInterceptor((_, metadata) =>
                {
                    metadata.Add("authorization", "Bearer " + bearerToken);
                    return Task.CompletedTask;
                })),
            UnsafeUseInsecureChannelCallCredentials = bearerToken is not null && address.Scheme == Uri.UriSchemeHttp,
        });
    }
}
