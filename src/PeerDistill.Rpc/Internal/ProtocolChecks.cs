using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Rpc.Internal;

/// <summary>Refuses requests that are not gRPC over HTTP/2 before any handler sees them.</summary>
internal static class ProtocolChecks
{
    /// <summary>True when the request may go on; otherwise a refusal was written.</summary>
    public static async Task<bool> AcceptAsync(HttpContext http, ILogger logger)
    {
        var request = http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            await RefuseAsync(http, logger, StatusCodes.Status426UpgradeRequired, StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported; gRPC needs HTTP/2.").ConfigureAwait(false);
            return false;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            await RefuseAsync(http, logger, StatusCodes.Status405MethodNotAllowed, StatusCode.Internal, $"Request method '{request.Method}' is not supported; gRPC calls are POST.").ConfigureAwait(false);
            return false;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            await RefuseAsync(http, logger, StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported; gRPC needs '{GrpcProtocol.ContentType}'.").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>Ends the request with an HTTP status and a gRPC status in the headers.</summary>
    public static async Task RefuseAsync(HttpContext http, ILogger logger, int httpStatus, StatusCode code, string message)
    {
        Log.Refused(logger, message, http.Request.Path.Value ?? "/", http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        var response = http.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(message);
        await response.CompleteAsync().ConfigureAwait(false);
    }
}
