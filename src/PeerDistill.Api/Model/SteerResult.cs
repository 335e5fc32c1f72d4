namespace PeerDistill.Api.Model;

/// <summary>A run after a pause, resume or live change, and the step that holds for it.</summary>
/// <param name="Run">The run's status after the call.</param>
/// <param name="Step">
/// Pause: the step every peer stopped (or stops) at, with a checkpoint of it. Resume: the step every
/// peer goes on from. Change: the step every peer applies the change at.
/// </param>
public sealed record SteerResult(RunView Run, long Step);
