namespace PeerDistill.Api.Tests.Storage;

/// <summary>A grain whose state lives in the cluster's grain storage (<c>peerdistill</c>), to test that storage on each database.</summary>
public interface IProbeGrain : IGrainWithStringKey
{
    /// <summary>Writes the value; returns the new ETag.</summary>
    Task<string?> Write(string value);

    /// <summary>The value, the ETag and this activation's id.</summary>
    Task<(string? Value, string? ETag, Guid Activation)> Read();

    /// <summary>Clears the state (the record stays, empty).</summary>
    Task Clear();

    /// <summary>Deactivates this activation once idle (the next call reads the state back from storage).</summary>
    Task Deactivate();
}
