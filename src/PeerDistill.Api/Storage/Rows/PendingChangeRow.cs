namespace PeerDistill.Api.Storage;

/// <summary>A change to a running run, applied by every peer at <paramref name="AtStep"/>.</summary>
/// <param name="Id">Grows with every change added (to any run).</param>
/// <param name="AtStep">The step every peer applies it at.</param>
/// <param name="ChangeJson">The change, as JSON (the API's shape; the store does not read it).</param>
/// <param name="Created">When it was asked for.</param>
internal sealed record PendingChangeRow(long Id, long AtStep, string ChangeJson, DateTimeOffset Created);
