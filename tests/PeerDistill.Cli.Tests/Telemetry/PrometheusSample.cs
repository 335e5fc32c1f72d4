namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>One sample line of a Prometheus text exposition: its name, labels and value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
