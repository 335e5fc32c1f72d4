using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PeerDistill.Cluster.Hosting;

/// <summary>A port a service would listen on, found taken when it bound it.</summary>
public static class PortConflict
{
    /// <summary>
    /// How many times a service whose port was chosen for it (0: any free port) starts, with a newly
    /// chosen port each time: an Orleans silo's port and a worker's published exchange port are chosen
    /// before they are bound, and another process may take the port in between.
    /// </summary>
    public const int Attempts = 5;

    /// <summary>
    /// What failed, when <paramref name="e"/> (or an exception inside it) is a listening port in use;
    /// null otherwise. A port of the web server is named by its message; any other is the Orleans silo's,
    /// at <paramref name="siloEndpoint"/>.
    /// </summary>
    public static string? Of(Exception e, string siloEndpoint)
    {
        ArgumentNullException.ThrowIfNull(e);
        return InUse(e) ? WebServer(e) ?? $"the cluster port {siloEndpoint} is in use (another process listens there)" : null;
    }

    private static bool InUse(Exception? e) => e switch
    {
        null => false,
        AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => true,
        AggregateException all => all.InnerExceptions.Any(InUse),
        _ => InUse(e.InnerException),
    };

    /// <summary>Kestrel's "Failed to bind to address ...: address already in use.", if that is what failed.</summary>
    private static string? WebServer(Exception? e) => e switch
    {
        null => null,
        IOException { InnerException: AddressInUseException } bind => bind.Message.TrimEnd('.'),
        AggregateException all => all.InnerExceptions.Select(WebServer).FirstOrDefault(m => m is not null),
        _ => WebServer(e.InnerException),
    };
}
