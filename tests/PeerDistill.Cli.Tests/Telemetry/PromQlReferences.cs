namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// What a PromQL expression refers to: its selectors (metric names with the labels of their
/// matchers) and the labels of its <c>by</c>/<c>without</c>/<c>on</c>/<c>ignoring</c>/<c>group_*</c> clauses.
/// </summary>
internal sealed record PromQlReferences(IReadOnlyList<PromQlSelector> Selectors, IReadOnlyList<string> GroupingLabels)
{
    /// <summary>The metric names of the selectors, each once.</summary>
    public IReadOnlyList<string> Metrics => Selectors.Select(s => s.Metric).Distinct(StringComparer.Ordinal).ToList();
}
