namespace PeerDistill.Api.Storage;

/// <summary>A page of runs, newest first, and the cursor of the next page (null on the last).</summary>
internal sealed record RunPage(IReadOnlyList<RunRow> Runs, string? NextCursor);
