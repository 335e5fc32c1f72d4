using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Exchange;

public sealed partial class PeerExchangeService
{
    [LoggerMessage(EventId = 460, Level = LogLevel.Warning, Message = "refused a {Method} call from {Caller}: {Status} ({Refusal}): {Detail} ({Count} refused for this reason so far; {Unlogged} not logged since the last line)")]
    private static partial void LogRefused(ILogger logger, string method, string caller, StatusCode status, TicketRefusal refusal, string detail, long count, long unlogged);
}
