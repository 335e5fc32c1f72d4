using Microsoft.Extensions.Logging;

namespace PeerDistill.Rpc.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "gRPC handler of {Method} threw; the call ends with Unknown")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(2, LogLevel.Debug, "gRPC call {Method} exceeded its deadline")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(3, LogLevel.Debug, "gRPC call {Method}: ending the call failed (client gone?)")]
    public static partial void CompleteFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "gRPC call {Method}: ignoring malformed grpc-timeout '{Value}'")]
    public static partial void InvalidTimeout(ILogger logger, string value, string method);

    [LoggerMessage(5, LogLevel.Warning, "gRPC call {Method}: ignoring malformed metadata '{Key}'")]
    public static partial void BadMetadata(ILogger logger, string key, string method);

    [LoggerMessage(6, LogLevel.Information, "gRPC request refused: {Reason} (path {Path}, from {Peer})")]
    public static partial void Refused(ILogger logger, string reason, string path, string peer);
}
