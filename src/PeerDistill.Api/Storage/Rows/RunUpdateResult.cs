namespace PeerDistill.Api.Storage;

/// <summary>The outcome of a state change and the run as it now is (null when not found).</summary>
internal sealed record RunUpdateResult(RunUpdateOutcome Outcome, RunRow? Run);
