using Grpc.AspNetCore.Server;
using Grpc.Net.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>
/// Gives every gRPC call (an endpoint with <see cref="GrpcMethodMetadata"/>, after routing) a request
/// body that checks gRPC's framing as Grpc.AspNetCore reads it (<see cref="CheckedRequestReader"/>),
/// with the host's receive limit and compression providers, so that malformed bytes end the call with
/// the status that names them instead of UNKNOWN and an error in the log.
/// </summary>
internal sealed class MalformedRequestMiddleware
{
    private const string EncodingHeader = "grpc-encoding";

    private readonly RequestDelegate _next;
    private readonly RequestMessages _messages;
    private readonly Dictionary<string, ICompressionProvider> _compression;

    public MalformedRequestMiddleware(RequestDelegate next, RequestMessages messages, IOptions<GrpcServiceOptions> options, ILogger<MalformedRequestMiddleware> logger)
    {
        _next = next;
        _messages = messages;
        // Grpc.AspNetCore has no limit when the option is null; its framing cannot carry more than int.MaxValue.
        Limit = options.Value.MaxReceiveMessageSize ?? int.MaxValue;
        _compression = options.Value.CompressionProviders.ToDictionary(p => p.EncodingName, StringComparer.Ordinal);
        Logger = logger;
    }

    /// <summary>The largest request message, in bytes (Grpc.AspNetCore's MaxReceiveMessageSize).</summary>
    public long Limit { get; }

    /// <summary>Where refusals are logged (one Warning line per refused call, no stack trace).</summary>
    public ILogger Logger { get; }

    /// <summary>The provider Grpc.AspNetCore decompresses <paramref name="encoding"/> with, if it knows one.</summary>
    public ICompressionProvider? Decompressor(string encoding) => _compression.GetValueOrDefault(encoding);

    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc)
        {
            var encoding = context.Request.Headers[EncodingHeader];
            var reader = new CheckedRequestReader(context.Request.BodyReader, this, grpc.Method, _messages.Find(grpc.Method.FullName), encoding.Count == 0 ? null : encoding.ToString());
            context.Features.Set<IRequestBodyPipeFeature>(reader);
        }

        return _next(context);
    }
}
