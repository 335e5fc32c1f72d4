namespace PeerDistill.Api.Storage;

/// <summary>The run history of the coordinator's database.</summary>
internal sealed class StoredRunHistory(IRunStore store) : IRunHistory
{
    public async Task<IReadOnlyList<Model.MetricPoint>> MetricsAsync(string cohort, string run, Model.MetricsFilter filter, CancellationToken cancellationToken)
    {
        var rows = await store.QueryMetricsAsync(new RunKey(cohort, run), new MetricsQuery(filter.Peers.Count == 0 ? null : filter.Peers, filter.FromStep, filter.ToStep, filter.MaxPointsPerPeer), cancellationToken).ConfigureAwait(false);
        return rows.Select(r => new Model.MetricPoint(r.Peer, r.Step, r.Time, r.Loss, r.CrossEntropy, r.Distillation, r.Hint, r.LearningRate, r.SamplesPerSecond, r.Accuracy, r.EvalLoss)).ToList();
    }

    public Task ForgetAsync(string cohort, string run, CancellationToken cancellationToken) =>
        store.DeleteRunAsync(new RunKey(cohort, run), cancellationToken);
}
