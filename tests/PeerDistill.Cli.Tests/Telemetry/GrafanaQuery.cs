namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>One query of a dashboard panel: the panel's title, the target's refId and its PromQL.</summary>
internal sealed record GrafanaQuery(string Panel, string RefId, string Expr);
