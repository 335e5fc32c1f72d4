using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Tests.Cohorts;

/// <summary>A run of the trio cohort (mlp, cnn, wide) on a manual clock, with shorthands for what peer grains tell it.</summary>
internal sealed class Lifecycle
{
    public static readonly DateTimeOffset Start = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public Lifecycle(string output, int maxEvents = 500, params string[] peers)
    {
        var names = peers.Length > 0 ? peers : ["mlp", "cnn", "wide"];
        Run = CohortLifecycle.Start(
            new CohortSubmission
            {
                Cohort = "trio",
                Run = "trio-20250102-030405",
                SpecText = "cohort: trio",
                SpecFormat = "yaml",
                Strategy = "dml",
                OutputDirectory = output,
                CheckpointDirectory = Path.Combine(output, "checkpoints"),
                KeepLast = 2,
                Peers = names.Select(n => new SubmittedPeer(n, n == "cnn" ? "cnn" : "mlp", "cpu")).ToList(),
                CreatedUnixMillis = Start.ToUnixTimeMilliseconds(),
                MaxEvents = maxEvents,
            },
            Time);
    }

    public ManualTimeProvider Time { get; } = new(Start);

    public CohortLifecycle Run { get; }

    public PeerRecord Peer(string name) => Run.Record.FindPeer(name)!;

    /// <summary>Silo address of worker <paramref name="worker"/> (w1 -> 127.0.0.1:11111@1, ...).</summary>
    public static string Silo(string worker) => $"127.0.0.1:{11110 + int.Parse(worker[1..], System.Globalization.CultureInfo.InvariantCulture)}@1";

    /// <summary>Places the current generation of <paramref name="peer"/> on <paramref name="worker"/> (as its peer grain's start says).</summary>
    public void Place(string peer, string worker, int slot = 0, long? newestCheckpoint = null)
    {
        var record = Peer(peer);
        var assignment = Run.AssignmentFor(record, newestCheckpoint);
        Run.Placed(record, assignment, new PeerStarted(Silo(worker), worker, $"http://{worker}.local:7000", slot));
    }

    /// <summary>Places every peer, the i-th on w(i+1), and reports each active.</summary>
    public void PlaceAllActive()
    {
        var i = 1;
        foreach (var peer in Run.Record.Peers.ToList())
        {
            Place(peer.Name, $"w{i}");
            Report(peer.Name, $"w{i}", PeerState.Active);
            i++;
        }
    }

    public ReportReply Report(string peer, string worker, PeerState state, long step = 0, ulong? generation = null, double? accuracy = null, string message = "", long? checkpoint = null) =>
        Run.Apply(new PeerReport
        {
            Peer = peer,
            Generation = generation ?? Peer(peer).Generation,
            Silo = Silo(worker),
            State = state,
            Step = step,
            TotalSteps = 141,
            Loss = step > 0 ? 1.0 / step : 0,
            Accuracy = accuracy,
            Message = message,
            CheckpointStep = checkpoint,
        });

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromSeconds(seconds));
}
