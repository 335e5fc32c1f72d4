using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Api.Model;

/// <summary>The cluster's state of a run (its cohort grain's record), translated into the API's read model.</summary>
internal static class RunViews
{
    public static RunView From(CohortRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new RunView(
            record.Cohort,
            record.Run,
            From(record.State),
            DateTimeOffset.FromUnixTimeMilliseconds(record.CreatedUnixMillis),
            record.FinishedUnixMillis is { } finished ? DateTimeOffset.FromUnixTimeMilliseconds(finished) : null,
            record.Peers.Select(From).ToList(),
            record.Events.Select(e => new RunEvent(DateTimeOffset.FromUnixTimeMilliseconds(e.UnixMillis), e.Peer, e.Kind, e.Message)).ToList(),
            record.Version)
        {
            PausedAtStep = record.State == CohortState.Paused ? record.PauseStep : null,
            Changes = [.. record.Changes],
            OutputDirectory = record.OutputDirectory,
            CheckpointDirectory = record.CheckpointDirectory,
            KeepLast = record.KeepLast,
            SpecText = record.SpecText,
            SpecFormat = record.SpecFormat,
        };
    }

    public static RunState From(CohortState state) => state switch
    {
        CohortState.Pending => RunState.Pending,
        CohortState.Running => RunState.Running,
        CohortState.Completed => RunState.Completed,
        CohortState.Failed => RunState.Failed,
        CohortState.Cancelled => RunState.Cancelled,
        CohortState.Paused => RunState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a cohort state"),
    };

    public static CohortState ToCluster(RunState state) => state switch
    {
        RunState.Pending => CohortState.Pending,
        RunState.Running => CohortState.Running,
        RunState.Completed => CohortState.Completed,
        RunState.Failed => CohortState.Failed,
        RunState.Cancelled => CohortState.Cancelled,
        RunState.Paused => CohortState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a run state"),
    };

    private static PeerView From(PeerRecord peer) => new(
        peer.Name,
        peer.Model,
        peer.Device,
        From(peer.State),
        peer.EverPlaced ? peer.Generation : 0,
        peer.WorkerId,
        peer.Silo,
        peer.Step,
        peer.TotalSteps,
        peer.LastLoss,
        peer.Accuracy,
        peer.LastCheckpointStep,
        peer.Message,
        peer.StepSeconds * 1000,
        peer.ExchangeWaitSeconds * 1000);

    private static PeerState From(Cluster.Cohorts.PeerState state) => state switch
    {
        Cluster.Cohorts.PeerState.Pending => PeerState.Pending,
        Cluster.Cohorts.PeerState.Active => PeerState.Active,
        Cluster.Cohorts.PeerState.Recovering => PeerState.Recovering,
        Cluster.Cohorts.PeerState.Stalled => PeerState.Stalled,
        Cluster.Cohorts.PeerState.Completed => PeerState.Completed,
        Cluster.Cohorts.PeerState.Failed => PeerState.Failed,
        Cluster.Cohorts.PeerState.Interrupted => PeerState.Interrupted,
        Cluster.Cohorts.PeerState.Paused => PeerState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a peer state"),
    };
}
