namespace PeerDistill.Api.Storage;

/// <summary>A metrics row of a run, as the metrics writer buffers it.</summary>
internal sealed record MetricSample(RunKey Run, MetricRow Row);
