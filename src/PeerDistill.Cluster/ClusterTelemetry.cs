using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster;

/// <summary>
/// The cluster's ActivitySource and Meter (<see cref="TelemetryNames.Cluster"/>): the run's span and
/// each placement's, re-activations, placement failures, and the peers of the runs this silo's cohort
/// grains hold, by state.
/// </summary>
public static class ClusterTelemetry
{
    public static readonly ActivitySource Source = new(TelemetryNames.Cluster, TelemetryNames.Version);

    public static readonly Meter Meter = new(TelemetryNames.Cluster, TelemetryNames.Version);

    /// <summary>Generations placed after a peer's first (a lost worker, a resume after a pause).</summary>
    public static readonly Counter<long> Reactivations = Meter.CreateCounter<long>(
        "peerdistill.peer.reactivations", "{activation}", "Peer generations placed after the first (re-activations from a checkpoint)");

    /// <summary>Starts of a peer that failed (no free slot, a worker that did not answer).</summary>
    public static readonly Counter<long> PlacementFailures = Meter.CreateCounter<long>(
        "peerdistill.placement.failures", "{placement}", "Starts of a peer's generation that failed (placed again later)");

    private static readonly ConcurrentDictionary<(string Cohort, string Run), CohortRecord> Runs = new();

    /// <summary>The peers of the unfinished runs held by this silo's cohort grains, by run and state.</summary>
    public static readonly ObservableGauge<int> Peers = Meter.CreateObservableGauge(
        "peerdistill.peers", ObservePeers, "{peer}", "Peers of the unfinished runs, by run and state");

    /// <summary>A cohort grain holds <paramref name="record"/> (until <see cref="Forget"/>); its peers are counted by state while it is unfinished.</summary>
    internal static void Hold(CohortRecord record) => Runs[(record.Cohort, record.Run)] = record;

    /// <summary>The grain of that run let go of it.</summary>
    internal static void Forget(string cohort, string run) => Runs.TryRemove((cohort, run), out _);

    /// <summary>The tags of a run's measurements.</summary>
    internal static TagList RunTags(string cohort, string run) => new()
    {
        { TelemetryAttributes.Cohort, cohort },
        { TelemetryAttributes.Run, run },
    };

    private static IEnumerable<Measurement<int>> ObservePeers()
    {
        foreach (var ((cohort, run), record) in Runs)
        {
            if (record.IsFinished)
            {
                continue;
            }

            // A snapshot: the grain changes its record on its own turn; a count off by one for a moment is harmless.
            List<PeerState> states;
            try
            {
                states = record.Peers.Select(p => p.State).ToList();
            }
            catch (InvalidOperationException)
            {
                continue;
            }

            foreach (var group in states.GroupBy(s => s))
            {
                var tags = RunTags(cohort, run);
                tags.Add(TelemetryAttributes.State, States.Name(group.Key));
                yield return new Measurement<int>(group.Count(), tags);
            }
        }
    }
}
