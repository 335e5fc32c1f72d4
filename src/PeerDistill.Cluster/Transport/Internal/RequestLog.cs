using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Transport.Internal;

internal static partial class RequestLog
{
    [LoggerMessage(1, LogLevel.Warning, "refused a malformed request to {Method}: {Code}: {Problem}")]
    public static partial void MalformedRequest(ILogger logger, string method, StatusCode code, string problem);
}
