namespace PeerDistill.Api.Storage;

/// <summary>The run history of the coordinator's database.</summary>
internal sealed class StoredRunHistory(IRunStore store) : IRunHistory
{
    public Task ForgetAsync(string cohort, string run, CancellationToken cancellationToken) =>
        store.DeleteRunAsync(new RunKey(cohort, run), cancellationToken);
}
