namespace PeerDistill.Api.Rest;

/// <summary>A run's metrics history, per peer in step order.</summary>
/// <param name="Cohort">The cohort.</param>
/// <param name="Run">The run.</param>
/// <param name="Points">The rows, by peer, then step.</param>
public sealed record MetricsResource(string Cohort, string Run, IReadOnlyList<MetricPointResource> Points);
