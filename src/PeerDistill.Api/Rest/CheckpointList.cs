namespace PeerDistill.Api.Rest;

/// <summary>A run's checkpoints, by peer and step.</summary>
/// <param name="Cohort">The cohort.</param>
/// <param name="Run">The run.</param>
/// <param name="Checkpoints">Its checkpoints.</param>
public sealed record CheckpointList(string Cohort, string Run, IReadOnlyList<CheckpointResource> Checkpoints);
