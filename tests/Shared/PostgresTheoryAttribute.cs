using Xunit;

namespace PeerDistill.Tests.Shared;

/// <summary>A theory reported Skipped, with the reason, where no PostgreSQL server can be started.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (PostgresServer.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
