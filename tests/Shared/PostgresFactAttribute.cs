using Xunit;

namespace PeerDistill.Tests.Shared;

/// <summary>A fact reported Skipped, with the reason, where no PostgreSQL server can be started (see <see cref="PostgresServer"/>).</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
