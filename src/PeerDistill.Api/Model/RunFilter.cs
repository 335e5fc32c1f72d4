namespace PeerDistill.Api.Model;

/// <summary>Which runs a listing returns, and which page of them.</summary>
/// <param name="State">Only runs in this state; null: every state.</param>
/// <param name="Cohort">Only runs of this cohort; null or empty: every cohort.</param>
/// <param name="PageSize">The most runs on the page (1 to <see cref="CohortApi.MaxPageSize"/>).</param>
/// <param name="Cursor">Where the page starts: the previous page's next cursor; null for the first page.</param>
public sealed record RunFilter(RunState? State = null, string? Cohort = null, int PageSize = RunFilter.DefaultPageSize, string? Cursor = null)
{
    /// <summary>Runs on a page unless asked otherwise.</summary>
    public const int DefaultPageSize = 50;
}
