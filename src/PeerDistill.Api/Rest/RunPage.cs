namespace PeerDistill.Api.Rest;

/// <summary>One page of runs, most recently submitted first.</summary>
/// <param name="Runs">The runs of this page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last page.</param>
public sealed record RunPage(IReadOnlyList<RunResource> Runs, string? NextCursor);
