namespace PeerDistill.Api.Rest;

/// <summary>The answer to a pause, a resume or a change.</summary>
/// <param name="Step">Pause: the step every peer stops at, with a checkpoint of it. Resume: the step every peer goes on from. Change: the step every peer applies it at.</param>
/// <param name="Run">The run after the call.</param>
public sealed record SteerResource(long Step, RunResource Run);
