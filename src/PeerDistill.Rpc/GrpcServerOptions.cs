namespace PeerDistill.Rpc;

/// <summary>Options of the gRPC server side (set through <c>AddGrpcTransport</c>).</summary>
public sealed class GrpcServerOptions
{
    /// <summary>The largest request message accepted, in bytes (default 4 MiB); larger ones end the call with ResourceExhausted. Null: no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = Internal.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message sent, in bytes (default: no limit); larger ones end the call with ResourceExhausted.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Compresses responses with this encoding when the client accepts it (null: identity).</summary>
    public string? ResponseCompressionAlgorithm { get; set; }

    /// <summary>The message encodings understood besides identity (default: gzip).</summary>
    public IList<ICompressionProvider> CompressionProviders { get; } = [new GzipCompressionProvider()];

    /// <summary>Interceptors wrapping every handler, outermost first.</summary>
    public IList<Interceptor> Interceptors { get; } = [];

    /// <summary>Sends a handler's exception message with Unknown statuses (off by default: internals stay inside).</summary>
    public bool EnableDetailedErrors { get; set; }
}
