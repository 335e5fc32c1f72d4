using PeerDistill.Cluster.Hosting;
using System.Globalization;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

[CoordinatorPlacement, KeepAlive]
internal sealed class CohortIndexGrain([PersistentState("runs", ClusterDatabase.GrainStorageName)] IPersistentState<CohortIndexGrain.IndexState> state) : Grain, ICohortIndexGrain
{
    public async Task<RunAdmission> AdmitAsync(string cohort, long nowUnixMillis, RunRequestKey? request = null, string? project = null)
    {
        var runs = state.State.Runs;
        if (request is not null && runs.FirstOrDefault(r => r.Request?.Key == request.Key) is { } earlier)
        {
            return earlier.Request!.Digest == request.Digest && earlier.Cohort == cohort && earlier.Project == project
                ? new RunAdmission(earlier.Run, null, Replayed: true)
                : new RunAdmission(null, null, KeyReused: earlier);
        }

        if (runs.LastOrDefault(r => r.Cohort == cohort && !States.IsFinished(r.State)) is { } open)
        {
            return new RunAdmission(null, open);
        }

        // <cohort>-<yyyyMMdd-HHmmss> (UTC), with -2, -3, ... when that run exists already.
        var stem = cohort + "-" + DateTimeOffset.FromUnixTimeMilliseconds(nowUnixMillis).UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var id = stem;
        for (var n = 2; runs.Any(r => r.Cohort == cohort && r.Run == id); n++)
        {
            id = string.Create(CultureInfo.InvariantCulture, $"{stem}-{n}");
        }

        runs.Add(new RunEntry(cohort, id, ++state.State.Sequence, CohortState.Pending, request, project));
        await state.WriteStateAsync();
        return new RunAdmission(id, null);
    }

    public async Task UpdateAsync(string cohort, string run, CohortState runState)
    {
        var runs = state.State.Runs;
        var index = runs.FindIndex(r => r.Cohort == cohort && r.Run == run);
        if (index >= 0 && runs[index].State != runState)
        {
            runs[index] = runs[index] with { State = runState };
            await state.WriteStateAsync();
        }
    }

    public async Task<bool> RemoveAsync(string cohort, string run)
    {
        if (state.State.Runs.RemoveAll(r => r.Cohort == cohort && r.Run == run) == 0)
        {
            return false;
        }

        await state.WriteStateAsync();
        return true;
    }

    public Task<IReadOnlyList<RunEntry>> ListAsync() =>
        Task.FromResult<IReadOnlyList<RunEntry>>(state.State.Runs.OrderByDescending(r => r.Sequence).ToList());

    [GenerateSerializer]
    internal sealed class IndexState
    {
        [Id(0)] public List<RunEntry> Runs { get; set; } = [];

        [Id(1)] public long Sequence { get; set; }
    }
}
