using System.Net;
using PeerDistill.Rpc.Internal;

namespace PeerDistill.Rpc;

/// <summary>
/// A connection pool to one gRPC server (HTTP/2 over SocketsHttpHandler): calls share its
/// connections, many calls per connection. Create one per target and keep it; dispose it last.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly bool _ownsHandler;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        Options = options;
        if (options.HttpHandler is { } handler)
        {
            _invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        }
        else
        {
            var sockets = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = options.KeepAlivePingDelay,
                KeepAlivePingTimeout = options.KeepAlivePingTimeout,
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = options.ConnectTimeout,
                InitialHttp2StreamWindowSize = options.StreamWindowSize,
                AutomaticDecompression = DecompressionMethods.None,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            };
            if (options.ServerCertificateValidation is { } validate)
            {
                sockets.SslOptions.RemoteCertificateValidationCallback = validate;
            }

            _invoker = new HttpMessageInvoker(sockets, disposeHandler: true);
            _ownsHandler = true;
        }

        CallInvoker = new HttpCallInvoker(this);
    }

    /// <summary>The server's address (<c>http://</c> for h2c, <c>https://</c> for TLS).</summary>
    public Uri Address { get; }

    /// <summary>The channel's options.</summary>
    public GrpcChannelOptions Options { get; }

    /// <summary>Starts calls on this channel.</summary>
    public CallInvoker CallInvoker { get; }

    internal HttpMessageInvoker Invoker => _invoker;

    /// <summary>A channel to <paramref name="address"/> (<c>http://host:port</c> or <c>https://host:port</c>; a bare <c>host:port</c> means h2c).</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{address}' is not a gRPC address (expected http://host:port, https://host:port or host:port)", nameof(address));
        }

        return ForAddress(uri, options);
    }

    /// <summary>A channel to <paramref name="address"/>.</summary>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null) => new(address, options ?? new GrpcChannelOptions());

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHandler)
        {
            _invoker.Dispose();
        }
    }
}
