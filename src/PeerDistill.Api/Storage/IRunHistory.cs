namespace PeerDistill.Api.Storage;

/// <summary>What the database keeps of a run besides its record (its metrics history): forgotten with the run.</summary>
public interface IRunHistory
{
    /// <summary>The rows of the run's metrics history that <paramref name="filter"/> selects, by peer and step.</summary>
    Task<IReadOnlyList<Model.MetricPoint>> MetricsAsync(string cohort, string run, Model.MetricsFilter filter, CancellationToken cancellationToken);

    /// <summary>Deletes everything the database keeps of the run (nothing when it keeps nothing).</summary>
    Task ForgetAsync(string cohort, string run, CancellationToken cancellationToken);
}
