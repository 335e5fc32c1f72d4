namespace PeerDistill.Coordinator.Internal;

/// <summary>The <c>CohortEvent.kind</c> words the coordinator records.</summary>
internal static class EventKinds
{
    public const string Submitted = "submitted";
    public const string Placed = "placed";
    public const string Running = "running";
    public const string Activated = "activated";
    public const string Recovering = "recovering";
    public const string Reactivated = "reactivated";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";
    public const string Cancelled = "cancelled";
    public const string WorkerLost = "worker-lost";
}
