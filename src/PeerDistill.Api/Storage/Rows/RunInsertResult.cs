namespace PeerDistill.Api.Storage;

/// <summary>The outcome of an insert and the run it concerns (the new one, or the existing one it found).</summary>
internal sealed record RunInsertResult(RunInsertOutcome Outcome, RunRow Run);
