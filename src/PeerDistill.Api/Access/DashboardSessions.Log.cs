using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Access;

public sealed partial class DashboardSessions
{
    [LoggerMessage(Level = LogLevel.Information, Message = "dashboard session opened for '{Name}' from {Address}, until {Expires:O}")]
    private static partial void LogOpened(ILogger logger, string name, string address, DateTimeOffset expires);

    [LoggerMessage(Level = LogLevel.Information, Message = "dashboard sessions of '{Name}' ended: {Count}")]
    private static partial void LogEnded(ILogger logger, string name, int count);
}
