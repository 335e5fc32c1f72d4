namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>One series of an instant query's answer: its labels (<c>__name__</c> included where kept) and value.</summary>
internal sealed record PrometheusSeries(IReadOnlyDictionary<string, string> Labels, double Value);
