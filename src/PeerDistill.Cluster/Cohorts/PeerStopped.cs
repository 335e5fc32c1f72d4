namespace PeerDistill.Cluster.Cohorts;

/// <summary>How a stopped peer ended.</summary>
/// <param name="Stopped">Whether that generation was running here and was stopped (false if it had ended already, or is not here).</param>
/// <param name="Step">Last step it completed (0-based); -1 if none, or if it is not here.</param>
/// <param name="CheckpointStep">Steps completed by the checkpoint written on the way out; null if none.</param>
[GenerateSerializer, Immutable]
public sealed record PeerStopped(
    [property: Id(0)] bool Stopped,
    [property: Id(1)] long Step,
    [property: Id(2)] long? CheckpointStep);
