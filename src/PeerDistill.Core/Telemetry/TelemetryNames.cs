namespace PeerDistill.Core.Telemetry;

/// <summary>
/// The names of PeerDistill's ActivitySources and Meters, one per component (each source and its meter
/// share the name), and the Orleans sources and meter a process subscribes to besides.
/// </summary>
public static class TelemetryNames
{
    /// <summary>The step loop of every peer (embedded and distributed): activation, epoch, step and its phases; step time, losses, accuracy, checkpoints.</summary>
    public const string Runner = "PeerDistill.Runner";

    /// <summary>The gRPC logit exchange between workers: frames sent and received, publish-to-ack latency, refusals.</summary>
    public const string Exchange = "PeerDistill.Exchange";

    /// <summary>The cluster: cohort runs, placement, re-activations, peers by state.</summary>
    public const string Cluster = "PeerDistill.Cluster";

    /// <summary>The coordinator's API: metrics-writer drops (requests themselves are ASP.NET Core's own instruments).</summary>
    public const string Api = "PeerDistill.Api";

    /// <summary>The version every source and meter reports.</summary>
    public static readonly string Version = typeof(TelemetryNames).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Every PeerDistill source (and meter).</summary>
    public static readonly IReadOnlyList<string> All = [Runner, Exchange, Cluster, Api];

    /// <summary>Orleans' activity sources (grain calls, placement, lifecycle, storage), emitted once a silo propagates activities.</summary>
    public static readonly IReadOnlyList<string> OrleansSources =
        ["Microsoft.Orleans.Application", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Lifecycle", "Microsoft.Orleans.Storage"];

    /// <summary>Orleans' meter.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";
}
