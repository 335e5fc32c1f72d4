using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Internal;

/// <summary>Helpers over the wire's state enums.</summary>
internal static class PeerStates
{
    /// <summary>Completed, failed or interrupted: the peer no longer trains.</summary>
    public static bool IsFinished(PeerState state) => state is PeerState.Completed or PeerState.Failed or PeerState.Interrupted;

    /// <summary>Completed, failed or cancelled.</summary>
    public static bool IsFinished(CohortState state) => state is CohortState.Completed or CohortState.Failed or CohortState.Cancelled;

    /// <summary>"active", "completed", ... (the names of the proto without their prefix).</summary>
    public static string Name(PeerState state) => state switch
    {
        PeerState.Pending => "pending",
        PeerState.Active => "active",
        PeerState.Recovering => "recovering",
        PeerState.Completed => "completed",
        PeerState.Failed => "failed",
        PeerState.Interrupted => "interrupted",
        _ => "unspecified",
    };

    /// <summary>"running", "completed", ... (the names of the proto without their prefix).</summary>
    public static string Name(CohortState state) => state switch
    {
        CohortState.Pending => "pending",
        CohortState.Running => "running",
        CohortState.Completed => "completed",
        CohortState.Failed => "failed",
        CohortState.Cancelled => "cancelled",
        _ => "unspecified",
    };
}
