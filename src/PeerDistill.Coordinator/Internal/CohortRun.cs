using PeerDistill.Core.Spec;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Internal;

/// <summary>One run of a cohort, as the coordinator knows it (guarded by the state's lock).</summary>
internal sealed class CohortRun
{
    public CohortRun(long sequence, string run, CohortSpec spec, string specText, string specFormat, string outputDirectory, string checkpointDirectory, DateTimeOffset created)
    {
        Sequence = sequence;
        Run = run;
        Spec = spec;
        SpecText = specText;
        SpecFormat = specFormat;
        OutputDirectory = outputDirectory;
        CheckpointDirectory = checkpointDirectory;
        Created = created;
        Peers = spec.Peers.Select(p => new PeerRecord(p.Name, p.Model)).ToList();
    }

    /// <summary>Submission order (for "latest" and listings).</summary>
    public long Sequence { get; }

    public string Cohort => Spec.Cohort;

    public string Run { get; }

    public CohortSpec Spec { get; }

    public string SpecText { get; }

    public string SpecFormat { get; }

    public string OutputDirectory { get; }

    /// <summary>The checkpoint directory handed to workers (CheckpointStore adds &lt;run&gt;/&lt;peer&gt;).</summary>
    public string CheckpointDirectory { get; }

    public DateTimeOffset Created { get; }

    public DateTimeOffset? Finished { get; set; }

    public CohortState State { get; set; } = CohortState.Pending;

    public bool IsFinished => PeerStates.IsFinished(State);

    /// <summary>The peers, in the order of the spec.</summary>
    public IReadOnlyList<PeerRecord> Peers { get; }

    /// <summary>The most recent events, oldest first.</summary>
    public List<CohortEvent> Events { get; } = [];

    /// <summary>Every worker-lost, interrupted and reactivated event (for summary.json).</summary>
    public List<CohortEvent> Interruptions { get; } = [];

    public PeerRecord? FindPeer(string name)
    {
        foreach (var peer in Peers)
        {
            if (peer.Name == name)
            {
                return peer;
            }
        }

        return null;
    }
}
