namespace PeerDistill.Api.Model;

/// <summary>A submission's answer: the run it started (or, for a retry under the same idempotency key, started the first time).</summary>
/// <param name="Cohort">The cohort's name.</param>
/// <param name="Run">The run's id.</param>
/// <param name="Replayed">A retry: the run was started by an earlier submission under the same key.</param>
public sealed record SubmittedRun(string Cohort, string Run, bool Replayed);
