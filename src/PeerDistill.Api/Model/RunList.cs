namespace PeerDistill.Api.Model;

/// <summary>One page of runs, most recently submitted first.</summary>
/// <param name="Runs">The runs of the page.</param>
/// <param name="NextCursor">The cursor of the next page; null on the last.</param>
public sealed record RunList(IReadOnlyList<RunView> Runs, string? NextCursor);
