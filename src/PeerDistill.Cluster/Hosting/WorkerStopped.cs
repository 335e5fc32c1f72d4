namespace PeerDistill.Cluster.Hosting;

/// <summary>How a worker stopped.</summary>
/// <param name="Peers">The peers it told to stop, with the steps each had completed when told.</param>
/// <param name="PeersStopped">Whether every peer stopped (with its checkpoint) within <see cref="WorkerNode.PeerStopTimeout"/>.</param>
/// <param name="Reported">Whether every stopped peer's end reached its cohort within <see cref="WorkerNode.ReportTimeout"/>.</param>
/// <param name="ToCheckpoints">From the stop request to the last peer's end (its checkpoint written).</param>
/// <param name="ToLeft">From the stop request to the silo having left the cluster.</param>
public sealed record WorkerStopped(IReadOnlyList<(string Peer, long Step)> Peers, bool PeersStopped, bool Reported, TimeSpan ToCheckpoints, TimeSpan ToLeft);
