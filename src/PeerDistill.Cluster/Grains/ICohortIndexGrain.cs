using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Grains;

/// <summary>The runs the cluster knows (one index, on the coordinator silo, key <see cref="Key"/>): run ids, order, and each run's state as its cohort grain last said.</summary>
public interface ICohortIndexGrain : IGrainWithStringKey
{
    public const string Key = "runs";

    /// <summary>A new run id for <paramref name="cohort"/>, or why not (the cohort has a run that has not ended).</summary>
    Task<RunAdmission> AdmitAsync(string cohort, long nowUnixMillis);

    /// <summary>A run's cohort grain reports its state.</summary>
    Task UpdateAsync(string cohort, string run, CohortState state);

    /// <summary>Every run, most recently submitted first.</summary>
    Task<IReadOnlyList<RunEntry>> ListAsync();
}

/// <summary>One run in the index.</summary>
[GenerateSerializer, Immutable]
public sealed record RunEntry(
    [property: Id(0)] string Cohort,
    [property: Id(1)] string Run,
    [property: Id(2)] long Sequence,
    [property: Id(3)] CohortState State);

/// <summary>The index's answer to a submission: the new run id, or the run in the way.</summary>
[GenerateSerializer, Immutable]
public sealed record RunAdmission(
    [property: Id(0)] string? Run,
    [property: Id(1)] RunEntry? Conflict);
