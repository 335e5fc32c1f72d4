namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>A vector selector of a PromQL expression: its metric name and the label names its matchers use.</summary>
internal sealed record PromQlSelector(string Metric, IReadOnlyList<string> Labels);
