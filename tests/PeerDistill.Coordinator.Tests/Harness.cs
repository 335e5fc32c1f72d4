using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Tests;

/// <summary>A coordinator state on a manual clock, writing under a temporary directory, with shorthands for what workers send.</summary>
internal sealed class Harness : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public Harness()
    {
        Root = Path.Combine(Path.GetTempPath(), "peerdistill-coordinator-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        State = new CoordinatorState(new CoordinatorOptions { OutputRoot = Root, TimeProvider = Time }, Log);
    }

    /// <summary>What the state logged.</summary>
    public CapturingLogger Log { get; } = new();

    public ManualTimeProvider Time { get; } = new(Start);

    public string Root { get; }

    public CoordinatorState State { get; }

    public static PeerProgress Progress(Assignment assignment, PeerState state, long step = 0, double? accuracy = null, string message = "")
    {
        var progress = new PeerProgress
        {
            Cohort = assignment.Cohort,
            Run = assignment.Run,
            Peer = assignment.Peer,
            Generation = assignment.Generation,
            Step = step,
            TotalSteps = 141,
            Loss = step > 0 ? 1.0 / step : 0,
            State = state,
            Message = message,
        };
        if (accuracy is { } a)
        {
            progress.Accuracy = a;
        }

        return progress;
    }

    public RegisterWorkerReply Register(string id, int slots = 1)
    {
        var request = new RegisterWorkerRequest { WorkerId = id, Address = $"{id}.local:7000" };
        request.Slots.AddRange(Enumerable.Range(0, slots).Select(i => new Slot { Index = i, Device = "cpu", Threads = 1 }));
        return State.Register(request);
    }

    public HeartbeatReply Heartbeat(string id, params PeerProgress[] peers)
    {
        var request = new HeartbeatRequest { WorkerId = id };
        request.Peers.AddRange(peers);
        return State.Heartbeat(request);
    }

    public SubmitCohortReply Submit(string spec = TestSpecs.Trio) => State.Submit(new SubmitCohortRequest { SpecText = spec, SpecFormat = "yaml" });

    public CohortStatus Status(string cohort, string run = "") => State.GetCohort(new GetCohortRequest { Cohort = cohort, Run = run });

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromSeconds(seconds));

    /// <summary>Acknowledges every assignment of <paramref name="worker"/> (reports it PENDING) and returns them.</summary>
    public IReadOnlyList<Assignment> Accept(string worker)
    {
        var assignments = Heartbeat(worker).Start.ToList();
        if (assignments.Count > 0)
        {
            Heartbeat(worker, assignments.Select(a => Progress(a, PeerState.Pending)).ToArray());
        }

        return assignments;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
