using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Security;

public sealed partial class ClusterCredentials
{
    [LoggerMessage(451, LogLevel.Information, "TLS certificate reloaded from '{Path}': {Subject}, serial {Serial}, valid until {NotAfter:u}; new connections use it")]
    private static partial void LogReloaded(ILogger logger, string path, string subject, string serial, DateTime notAfter);

    [LoggerMessage(452, LogLevel.Warning, "TLS certificate files changed but were not loaded: {Reason}; new connections keep the previous certificate until the files are whole")]
    private static partial void LogNotReloaded(ILogger logger, string reason);
}
