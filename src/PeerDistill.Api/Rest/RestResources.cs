using PeerDistill.Api.Model;

namespace PeerDistill.Api.Rest;

/// <summary>The API's read model translated into the REST API's JSON resources (every enum mapped by name).</summary>
internal static class RestResources
{
    public static RunResource From(RunView run) => new(
        run.Cohort,
        run.Run,
        From(run.State),
        run.Created,
        run.Finished,
        run.Version,
        run.PausedAtStep,
        run.Peers.Select(From).ToList(),
        run.Changes.Select(From).ToList(),
        run.Events.Select(e => new EventResource(e.At, e.Peer, e.Kind, e.Message)).ToList());

    public static ChangeResource From(Core.Spec.CohortChange change) =>
        new(change.Step, change.Fields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal));

    public static RunStateJson From(RunState state) => state switch
    {
        RunState.Pending => RunStateJson.Pending,
        RunState.Running => RunStateJson.Running,
        RunState.Completed => RunStateJson.Completed,
        RunState.Failed => RunStateJson.Failed,
        RunState.Cancelled => RunStateJson.Cancelled,
        RunState.Paused => RunStateJson.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a run state"),
    };

    public static RunState ToModel(RunStateJson state) => state switch
    {
        RunStateJson.Pending => RunState.Pending,
        RunStateJson.Running => RunState.Running,
        RunStateJson.Completed => RunState.Completed,
        RunStateJson.Failed => RunState.Failed,
        RunStateJson.Cancelled => RunState.Cancelled,
        RunStateJson.Paused => RunState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a run state"),
    };

    /// <summary>The run state a JSON name (<c>running</c>) stands for; null for any other text.</summary>
    public static RunStateJson? StateNamed(string name) => name switch
    {
        "pending" => RunStateJson.Pending,
        "running" => RunStateJson.Running,
        "completed" => RunStateJson.Completed,
        "failed" => RunStateJson.Failed,
        "cancelled" => RunStateJson.Cancelled,
        "paused" => RunStateJson.Paused,
        _ => null,
    };

    /// <summary>The run's ETag: its version, quoted (a strong validator).</summary>
    public static string ETag(RunView run) => "\"" + run.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"";

    private static PeerResource From(PeerView peer) => new(
        peer.Name,
        peer.Model,
        peer.Device,
        From(peer.State),
        peer.Generation,
        peer.WorkerId,
        peer.WorkerSilo,
        peer.Step,
        peer.TotalSteps,
        peer.LastLoss,
        peer.Accuracy,
        peer.LastCheckpointStep,
        peer.Message,
        peer.StepMs,
        peer.ExchangeWaitMs);

    private static PeerStateJson From(PeerState state) => state switch
    {
        PeerState.Pending => PeerStateJson.Pending,
        PeerState.Active => PeerStateJson.Active,
        PeerState.Recovering => PeerStateJson.Recovering,
        PeerState.Stalled => PeerStateJson.Stalled,
        PeerState.Completed => PeerStateJson.Completed,
        PeerState.Failed => PeerStateJson.Failed,
        PeerState.Interrupted => PeerStateJson.Interrupted,
        PeerState.Paused => PeerStateJson.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a peer state"),
    };
}
