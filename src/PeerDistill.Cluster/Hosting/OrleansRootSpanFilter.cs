using System.Diagnostics;
using OpenTelemetry;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// Keeps Orleans' spans that belong to a trace (a grain call of an API request, a placement of a run)
/// and leaves out those that would start one: membership polls, grain timers, directory upkeep, a
/// worker's periodic reports. Those come every second from every silo and say nothing of a request or a
/// run. Runs when a span starts: one left out is not recorded, and neither is anything under it.
/// </summary>
internal sealed class OrleansRootSpanFilter : BaseProcessor<Activity>
{
    public override void OnStart(Activity data)
    {
        if (data.ParentSpanId == default && data.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal))
        {
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            data.IsAllDataRequested = false;
        }
    }
}
