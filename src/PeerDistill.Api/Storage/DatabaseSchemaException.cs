namespace PeerDistill.Api.Storage;

/// <summary>The database's schema cannot be used by this build: newer than the code, or a migration failed.</summary>
public sealed class DatabaseSchemaException : Exception
{
    public DatabaseSchemaException(string message)
        : base(message)
    {
    }

    public DatabaseSchemaException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
