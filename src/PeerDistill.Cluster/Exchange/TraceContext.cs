using System.Diagnostics;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The W3C trace context a frame carries (<c>LogitsFrame.trace_parent</c>): the sender's publish span of
/// a traced step. Telemetry only: a value that is absent, too long or malformed is ignored (no link), never
/// a reason to refuse the logits.
/// </summary>
internal static class TraceContext
{
    /// <summary>The length of a version-00 traceparent (<c>00-</c> 32 hex <c>-</c> 16 hex <c>-</c> 2 hex).</summary>
    public const int TraceParentLength = 55;

    /// <summary>The traceparent of <paramref name="activity"/> when it is recorded; empty otherwise.</summary>
    public static string Of(Activity? activity) =>
        activity is { Recorded: true, IdFormat: ActivityIdFormat.W3C } a ? a.Id ?? string.Empty : string.Empty;

    /// <summary>The context <paramref name="traceParent"/> names (remote); default when it is empty or not a valid traceparent.</summary>
    public static ActivityContext Parse(string traceParent)
    {
        if (traceParent.Length != TraceParentLength || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var context))
        {
            return default;
        }

        return context;
    }
}
