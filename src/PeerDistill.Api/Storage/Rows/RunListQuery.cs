namespace PeerDistill.Api.Storage;

/// <summary>Which runs to list, newest first.</summary>
/// <param name="States">Only runs in one of these states; null or empty: any.</param>
/// <param name="Cohort">Only runs of this cohort; null: any.</param>
/// <param name="Limit">At most this many (1 to <see cref="MaxLimit"/>).</param>
/// <param name="Cursor">Where the previous page ended (its <see cref="RunPage.NextCursor"/>); null: from the newest.</param>
internal sealed record RunListQuery(IReadOnlyCollection<string>? States = null, string? Cohort = null, int Limit = RunListQuery.DefaultLimit, string? Cursor = null)
{
    /// <summary>The page size unless asked otherwise.</summary>
    public const int DefaultLimit = 50;

    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;
}
