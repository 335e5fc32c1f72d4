using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Protocol.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "refused a malformed request to {Method}: {Code}: {Problem}")]
    public static partial void MalformedRequest(ILogger logger, string method, StatusCode code, string problem);
}
