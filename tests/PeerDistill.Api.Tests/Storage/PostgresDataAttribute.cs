using System.Reflection;
using PeerDistill.Api.Storage;
using PeerDistill.Tests.Shared;
using Xunit.Sdk;

namespace PeerDistill.Api.Tests.Storage;

/// <summary>The PostgreSQL row of a theory over the database engines, reported Skipped with the reason where no server can be started.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PostgresDataAttribute : DataAttribute
{
    public PostgresDataAttribute()
    {
        if (PostgresServer.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[DatabaseProvider.Postgres]];
}
