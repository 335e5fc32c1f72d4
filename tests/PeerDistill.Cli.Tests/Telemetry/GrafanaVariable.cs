namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>A template variable of a dashboard: its name, type and query (a datasource variable's plugin id, a query variable's text).</summary>
internal sealed record GrafanaVariable(string Name, string Type, string Query);
