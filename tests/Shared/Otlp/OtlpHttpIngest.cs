using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// OTLP/HTTP's ingest (POST /v1/traces, /v1/metrics): a protobuf-encoded export request, gzip or not,
/// answered 200 with the protobuf-encoded (empty) export response. A JSON body (http/json) is refused
/// with 415, an undecodable one with 400, each recorded as a refusal.
/// </summary>
internal static class OtlpHttpIngest
{
    /// <summary>The path of trace exports.</summary>
    public const string TracesPath = "/v1/traces";

    /// <summary>The path of metrics exports.</summary>
    public const string MetricsPath = "/v1/metrics";

    private const string ProtobufContentType = "application/x-protobuf";

    /// <summary>The largest body taken (far above any export of a test).</summary>
    private const int MaxBodyBytes = 64 << 20;

    /// <summary>Decodes one request with <paramref name="parser"/>, hands it to <paramref name="keep"/>, and answers.</summary>
    public static async Task HandleAsync<TRequest>(HttpContext context, MessageParser<TRequest> parser, Action<TRequest> keep, IMessage response, OtlpStore store)
        where TRequest : IMessage<TRequest>
    {
        var path = context.Request.Path.Value;
        var contentType = context.Request.ContentType ?? string.Empty;
        if (!contentType.StartsWith(ProtobufContentType, StringComparison.OrdinalIgnoreCase) && !contentType.StartsWith("application/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            store.Reject($"http {path}: content type '{contentType}' (only http/protobuf, {ProtobufContentType}, is served; http/json is not)");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        TRequest request;
        try
        {
            var body = await ReadAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
            request = parser.ParseFrom(body);
            keep(request);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            store.Reject($"http {path}: {e.Message}");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ProtobufContentType;
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var gzip = string.Equals(request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase);
        await using var unzip = gzip ? new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true) : null;
        var source = (Stream?)unzip ?? request.Body;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new InvalidDataException($"the body is larger than {MaxBodyBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
