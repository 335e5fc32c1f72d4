namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>How the values of a sum or a histogram relate to time (OTLP's AggregationTemporality).</summary>
public enum ReceivedMetricTemporality
{
    /// <summary>Not given: gauges and summaries have none.</summary>
    Unspecified,

    /// <summary>Each export carries what was measured since the previous one.</summary>
    Delta,

    /// <summary>Each export carries the running total since the start time (the .NET SDK's default): the newest point is the value.</summary>
    Cumulative,
}
