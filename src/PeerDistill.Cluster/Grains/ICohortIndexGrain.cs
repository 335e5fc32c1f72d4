using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Grains;

/// <summary>The runs the cluster knows (one index, on the coordinator silo, key <see cref="Key"/>): run ids, order, and each run's state as its cohort grain last said.</summary>
public interface ICohortIndexGrain : IGrainWithStringKey
{
    public const string Key = "runs";

    /// <summary>
    /// A new run id for <paramref name="cohort"/>, or why not (the cohort has a run that has not
    /// ended). With an idempotency key (<paramref name="request"/>): the run admitted earlier under
    /// the same key and request (a retry), or a refusal when the key was used for another request.
    /// The run belongs to <paramref name="project"/> (null: to no project; only credentials of every
    /// project see it).
    /// </summary>
    Task<RunAdmission> AdmitAsync(string cohort, long nowUnixMillis, RunRequestKey? request = null, string? project = null);

    /// <summary>A run's cohort grain reports its state.</summary>
    Task UpdateAsync(string cohort, string run, CohortState state);

    /// <summary>Removes a run from the index (its idempotency key with it); whether it was there.</summary>
    Task<bool> RemoveAsync(string cohort, string run);

    /// <summary>Every run, most recently submitted first.</summary>
    Task<IReadOnlyList<RunEntry>> ListAsync();
}

/// <summary>One run in the index.</summary>
[GenerateSerializer, Immutable]
public sealed record RunEntry(
    [property: Id(0)] string Cohort,
    [property: Id(1)] string Run,
    [property: Id(2)] long Sequence,
    [property: Id(3)] CohortState State,
    [property: Id(4)] RunRequestKey? Request = null,
    [property: Id(5)] string? Project = null);

/// <summary>A client's idempotency key for a submission, and a digest of what it submitted under it.</summary>
/// <param name="Key">The client's key (unique per submission it means).</param>
/// <param name="Digest">A digest of the submitted spec and its format: the same key with another digest is another request.</param>
[GenerateSerializer, Immutable]
public sealed record RunRequestKey(
    [property: Id(0)] string Key,
    [property: Id(1)] string Digest);

/// <summary>The index's answer to a submission: the new run id (or the one admitted earlier under the same key), or the run in the way.</summary>
/// <param name="Run">The run admitted; null when refused.</param>
/// <param name="Conflict">The cohort's run that has not ended (refused: one open run per cohort).</param>
/// <param name="Replayed">The run was admitted earlier under the same idempotency key and request.</param>
/// <param name="KeyReused">The run admitted earlier under the same idempotency key for another request (refused).</param>
[GenerateSerializer, Immutable]
public sealed record RunAdmission(
    [property: Id(0)] string? Run,
    [property: Id(1)] RunEntry? Conflict,
    [property: Id(2)] bool Replayed = false,
    [property: Id(3)] RunEntry? KeyReused = null);
