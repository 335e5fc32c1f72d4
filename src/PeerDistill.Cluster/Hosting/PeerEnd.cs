using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Hosting;

/// <summary>How a hosted peer ended: its state, the steps it completed, and the step of the checkpoint it wrote on the way out (null if none).</summary>
internal sealed record PeerEnd(PeerState State, long StepsCompleted, long? CheckpointStep);
