using System.Globalization;

namespace PeerDistill.Cluster.Cohorts;

/// <summary>
/// The rules of a cohort run's life, over its <see cref="CohortRecord"/>: which reports are heard,
/// when a peer's generation is lost and its next one waits for a slot, when the run runs, completes,
/// fails or is cancelled. Plain code with no Orleans in it (the cohort grain calls it, tests call it
/// directly). Every change bumps <see cref="CohortRecord.Version"/>; <see cref="Durable"/> says
/// whether one happened that must be written before the grain answers (placement, generation, state).
/// </summary>
public sealed class CohortLifecycle(CohortRecord record, TimeProvider time)
{
    public CohortRecord Record { get; } = record;

    /// <summary>Whether a change since <see cref="Saved"/> must reach storage (a generation, a placement, a state).</summary>
    public bool Durable { get; private set; }

    /// <summary>Whether anything changed since <see cref="Saved"/> (progress included).</summary>
    public bool Dirty { get; private set; }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A new run's record, with its submitted event.</summary>
    public static CohortLifecycle Start(CohortSubmission submission, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var record = new CohortRecord
        {
            Cohort = submission.Cohort,
            Run = submission.Run,
            SpecText = submission.SpecText,
            SpecFormat = submission.SpecFormat,
            Strategy = submission.Strategy,
            OutputDirectory = submission.OutputDirectory,
            CheckpointDirectory = submission.CheckpointDirectory,
            KeepLast = submission.KeepLast,
            CreatedUnixMillis = submission.CreatedUnixMillis,
            MaxEvents = Math.Max(1, submission.MaxEvents),
            Peers = submission.Peers.Select(p => new PeerRecord { Name = p.Name, Model = p.Model, Device = p.Device }).ToList(),
        };
        var lifecycle = new CohortLifecycle(record, time);
        lifecycle.AddEvent(string.Empty, EventKinds.Submitted, $"{record.Peers.Count} peer(s) ({string.Join(", ", record.Peers.Select(p => p.Name))}); output {record.OutputDirectory}");
        return lifecycle;
    }

    /// <summary>Storage has everything up to now.</summary>
    public void Saved() => (Durable, Dirty) = (false, false);

    /// <summary>
    /// Applies one report of (peer, generation) from <see cref="PeerReport.Silo"/>. Only the silo
    /// the current generation is placed on is heard; any other incarnation (older generation, a
    /// generation never placed, another silo) is told to stop, as is a peer of a cancelled run.
    /// </summary>
    public ReportReply Apply(PeerReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var peer = Record.FindPeer(report.Peer);
        if (peer is null)
        {
            return Reply(true, $"cohort '{Record.Cohort}' run '{Record.Run}' has no peer '{report.Peer}'");
        }

        if (report.Generation < peer.Generation)
        {
            return Reply(true, $"generation {report.Generation} of '{peer.Name}' is superseded by generation {peer.Generation}");
        }

        if (report.Generation > peer.Generation || !peer.Placed)
        {
            return Reply(States.IsTraining(report.State), $"generation {report.Generation} of '{peer.Name}' was not activated by its cohort");
        }

        if (peer.Silo != report.Silo)
        {
            return Reply(States.IsTraining(report.State), $"generation {report.Generation} of '{peer.Name}' is placed on '{peer.WorkerId}', not on the silo reporting it");
        }

        if (report.CheckpointStep is { } checkpoint)
        {
            peer.LastCheckpointStep = Math.Max(peer.LastCheckpointStep ?? 0, checkpoint);
        }

        if (Record.IsFinished || peer.IsFinished)
        {
            return Reply(States.IsTraining(report.State) && Record.State == CohortState.Cancelled, "the run was cancelled");
        }

        if (peer.State == PeerState.Paused)
        {
            return Reply(States.IsTraining(report.State), $"the run is paused at step {Record.PauseStep}");
        }

        peer.Step = report.Step;
        peer.TotalSteps = report.TotalSteps;
        if (report.Step > 0 || report.Loss != 0)
        {
            peer.LastLoss = report.Loss;
        }

        if (report.Accuracy is { } accuracy)
        {
            peer.Accuracy = accuracy;
        }

        if (report.StepSeconds is { } stepSeconds)
        {
            peer.StepSeconds = stepSeconds;
            peer.ExchangeWaitSeconds = report.ExchangeWaitSeconds;
        }

        Changed(durable: false);
        peer.Message = report.Message;
        peer.WaitingAt = States.IsLive(report.State) ? report.WaitingAtStep : null;

        switch (report.State)
        {
            case PeerState.Active when peer.State == PeerState.Stalled:
                peer.State = PeerState.Active;
                AddEvent(peer.Name, EventKinds.Moving, $"generation {peer.Generation} steps again, at step {report.Step}");
                break;
            case PeerState.Active when peer.State != PeerState.Active:
                peer.State = PeerState.Active;
                AddEvent(peer.Name, EventKinds.Activated, $"generation {peer.Generation} active on worker '{peer.WorkerId}' slot {peer.SlotIndex} at step {report.Step}");
                break;
            case PeerState.Stalled when peer.State != PeerState.Stalled:
                if (peer.State != PeerState.Active)
                {
                    AddEvent(peer.Name, EventKinds.Activated, $"generation {peer.Generation} active on worker '{peer.WorkerId}' slot {peer.SlotIndex} at step {report.Step}");
                }

                peer.State = PeerState.Stalled;
                AddEvent(peer.Name, EventKinds.Stalled, report.Message);
                break;
            case PeerState.Pending or PeerState.Recovering:
                peer.State = report.State;
                break;
            case PeerState.Completed:
                peer.State = PeerState.Completed;
                AddEvent(peer.Name, EventKinds.Completed, $"generation {peer.Generation} completed {report.Step} steps on worker '{peer.WorkerId}'" + (peer.Accuracy is { } a ? string.Create(CultureInfo.InvariantCulture, $", accuracy {a:0.0000}") : string.Empty));
                break;
            case PeerState.Failed:
                peer.State = PeerState.Failed;
                AddEvent(peer.Name, EventKinds.Failed, $"generation {peer.Generation} failed on worker '{peer.WorkerId}' at step {report.Step}: {report.Message}");
                break;
            case PeerState.Interrupted when Record.State == CohortState.Paused:
                // Stopped at the pause step with its checkpoint: its slot goes, and it waits for the resume.
                peer.State = PeerState.Paused;
                peer.Placed = false;
                peer.WaitingAt = null;
                peer.Message = $"paused at step {report.Step}" + (report.CheckpointStep is { } at ? $" (checkpoint of step {at})" : string.Empty);
                AddEvent(peer.Name, EventKinds.Paused, $"generation {peer.Generation} stopped at step {report.Step} on worker '{peer.WorkerId}' and released its slot" + (report.CheckpointStep is { } c ? $"; checkpoint of step {c}" : "; no checkpoint"));
                break;
            case PeerState.Interrupted:
                // Interrupted while its run goes on (its silo shut down, a stop from elsewhere): the
                // peer recovers like one whose silo was lost, on another silo if there is one.
                var where = peer.WorkerId;
                AddEvent(peer.Name, EventKinds.Interrupted, $"generation {peer.Generation} interrupted on worker '{where}' at step {report.Step}" + (report.Message.Length > 0 ? ": " + report.Message : string.Empty));
                Recover(peer, $"interrupted on worker '{where}' at step {report.Step}", avoidWorker: where);
                break;
        }

        UpdateRunState();
        return Reply(false, string.Empty);
    }

    /// <summary>Every unfinished peer placed on <paramref name="silo"/> is lost: one event, and each recovers. Returns the names of the lost peers.</summary>
    public IReadOnlyList<string> LoseSilo(string silo, string reason)
    {
        if (Record.IsFinished)
        {
            return [];
        }

        var lost = Record.Peers.Where(p => p.HoldsSlot && p.Silo == silo).ToList();
        if (lost.Count == 0)
        {
            return [];
        }

        AddEvent(string.Empty, EventKinds.WorkerLost, $"{reason}; peers lost: {string.Join(", ", lost.Select(p => p.Name))}");
        foreach (var peer in lost)
        {
            Recover(peer, $"lost with worker '{peer.WorkerId}' at step {peer.Step}", avoidWorker: null);
        }

        UpdateRunState();
        return lost.Select(p => p.Name).ToList();
    }

    /// <summary>The peers that wait for a slot, recovering ones first, in the order of the spec.</summary>
    public IReadOnlyList<PeerRecord> Waiting() => Record.IsFinished
        ? []
        : Record.Peers.Where(p => !p.Placed && p.State == PeerState.Recovering).Concat(Record.Peers.Where(p => !p.Placed && p.State == PeerState.Pending)).ToList();

    /// <summary>What starts the current generation of <paramref name="peer"/>: from scratch for a first activation, else from <paramref name="newestCheckpoint"/>.</summary>
    public PeerAssignment AssignmentFor(PeerRecord peer, long? newestCheckpoint)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var reactivation = peer.EverPlaced || peer.Generation > 1;
        return new PeerAssignment
        {
            Cohort = Record.Cohort,
            Run = Record.Run,
            Peer = peer.Name,
            Generation = peer.Generation,
            SpecText = Record.SpecText,
            SpecFormat = Record.SpecFormat,
            OutputDirectory = Record.OutputDirectory,
            CheckpointDirectory = Record.CheckpointDirectory,
            ResumeFromStep = reactivation ? newestCheckpoint : null,
            Peers = Endpoints(),
            Changes = [.. Record.Changes],
            WaitForCohort = peer.AfterPause,
            TraceParent = Record.TraceParent,
        };
    }

    /// <summary>The current generation of <paramref name="peer"/> was started as <paramref name="started"/> says.</summary>
    public void Placed(PeerRecord peer, PeerAssignment assignment, PeerStarted started)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentNullException.ThrowIfNull(started);
        var reactivation = peer.EverPlaced || peer.Generation > 1;
        peer.Placed = true;
        peer.EverPlaced = true;
        peer.Silo = started.Silo;
        peer.WorkerId = started.WorkerId;
        peer.Address = started.Address;
        peer.SlotIndex = started.Slot;
        peer.ResumeFromStep = assignment.ResumeFromStep;
        peer.AvoidWorkerId = null;
        peer.AfterPause = false;
        // The new generation starts where its checkpoint left off: that is its progress now (the
        // other peers, further on, learn at once that it is behind them and do not wait for it).
        peer.Step = assignment.ResumeFromStep ?? 0;
        peer.WaitingAt = null;
        var resume = peer.ResumeFromStep is { } step ? $"resuming from step {step}" : "from scratch";
        if (reactivation)
        {
            peer.Message = $"reactivated on worker '{started.WorkerId}', {resume}";
            AddEvent(peer.Name, EventKinds.Reactivated, $"generation {peer.Generation} on worker '{started.WorkerId}' slot {started.Slot}, {resume} (silo {started.Silo})");
        }
        else
        {
            AddEvent(peer.Name, EventKinds.Placed, $"generation {peer.Generation} on worker '{started.WorkerId}' slot {started.Slot} (silo {started.Silo})");
        }

        UpdateRunState();
    }

    /// <summary>A peer that could not be started (no free slot, a failed start): it waits, and says why; nothing changes when it said so already.</summary>
    public void StartFailed(PeerRecord peer, string reason)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.Message == reason)
        {
            return;
        }

        peer.Message = reason;
        Changed(durable: false);
    }

    /// <summary>The peer's spec or data cannot run anywhere (the engine refused its model, its data is missing): the run fails.</summary>
    public void Unrunnable(PeerRecord peer, string reason)
    {
        ArgumentNullException.ThrowIfNull(peer);
        peer.State = PeerState.Failed;
        peer.Message = reason;
        AddEvent(peer.Name, EventKinds.Failed, reason);
        UpdateRunState();
    }

    /// <summary>Cancels the run: its unfinished peers become INTERRUPTED; returns those that run somewhere (to be stopped).</summary>
    public IReadOnlyList<PeerRecord> Cancel(string reason)
    {
        if (Record.IsFinished)
        {
            return [];
        }

        var running = new List<PeerRecord>();
        foreach (var peer in Record.Peers.Where(p => !p.IsFinished))
        {
            if (peer.Placed)
            {
                running.Add(peer);
            }

            peer.State = PeerState.Interrupted;
            peer.Message = "cancelled: " + reason;
        }

        Finish(CohortState.Cancelled, reason);
        return running;
    }

    /// <summary>The peers a pause or a live change must agree with: every unfinished one. Null, with why, when one of them does not train on a slot now.</summary>
    public (IReadOnlyList<PeerRecord>? Peers, string Why) Agreeing()
    {
        var peers = Record.Peers.Where(p => !p.IsFinished).ToList();
        if (peers.FirstOrDefault(p => !p.Placed || !States.IsLive(p.State)) is { } absent)
        {
            return (null, $"peer '{absent.Name}' is {States.Name(absent.State)} ({absent.Message}); every unfinished peer must train on a slot to agree on a step, try again");
        }

        return (peers, string.Empty);
    }

    /// <summary>Why the run may not pause now (null when it may): paused already or ended (not allowed), not every peer placed yet (busy).</summary>
    public SteerReply? PauseRefusal()
    {
        var name = $"cohort '{Record.Cohort}' run '{Record.Run}'";
        if (Record.State == CohortState.Paused)
        {
            return new SteerReply(SteerOutcome.NotAllowed, $"{name} is paused already (at step {Record.PauseStep})", Record.PauseStep ?? 0);
        }

        if (Record.IsFinished)
        {
            return new SteerReply(SteerOutcome.NotAllowed, $"{name} has ended ({States.Name(Record.State)}); only a running run pauses", 0);
        }

        return Record.State != CohortState.Running
            ? new SteerReply(SteerOutcome.Busy, $"{name} is {States.Name(Record.State)}: not every peer is placed yet; try again", 0)
            : null;
    }

    /// <summary>Why the run may not resume now (null when it may): not paused (not allowed), a peer still stopping (busy).</summary>
    public SteerReply? ResumeRefusal()
    {
        var name = $"cohort '{Record.Cohort}' run '{Record.Run}'";
        if (Record.State != CohortState.Paused)
        {
            return new SteerReply(SteerOutcome.NotAllowed, $"{name} is {States.Name(Record.State)}; only a paused run resumes", 0);
        }

        return StillStopping() is { } stopping
            ? new SteerReply(SteerOutcome.Busy, $"peer '{stopping}' of {name} is still stopping at step {Record.PauseStep}; try again", Record.PauseStep ?? 0)
            : null;
    }

    /// <summary>Why the run may not take a live change now (null when it may): ended (not allowed), not every peer placed yet (busy).</summary>
    public SteerReply? UpdateRefusal()
    {
        var name = $"cohort '{Record.Cohort}' run '{Record.Run}'";
        if (Record.IsFinished)
        {
            return new SteerReply(SteerOutcome.NotAllowed, $"{name} has ended ({States.Name(Record.State)}); only a running or paused run changes", 0);
        }

        return Record.State is CohortState.Running or CohortState.Paused
            ? null
            : new SteerReply(SteerOutcome.Busy, $"{name} is {States.Name(Record.State)}: not every peer is placed yet; try again", 0);
    }

    /// <summary>Every peer stops at <paramref name="step"/> (each agreed not to have started it): the run is paused from now.</summary>
    public void Pause(long step)
    {
        Record.PauseStep = step;
        Record.State = CohortState.Paused;
        AddEvent(string.Empty, EventKinds.Paused, $"paused at step {step}: every peer stops there, checkpoints it and releases its slot");
    }

    /// <summary>Whether every peer of a paused run has stopped at the pause step (null), or the name of one that has not.</summary>
    public string? StillStopping() => Record.Peers.FirstOrDefault(p => !p.IsFinished && p.State != PeerState.Paused)?.Name;

    /// <summary>A paused run goes on: each paused peer's next generation waits for a slot and resumes from the pause step.</summary>
    public long Resume()
    {
        var step = Record.PauseStep ?? 0;
        foreach (var peer in Record.Peers.Where(p => p.State == PeerState.Paused))
        {
            peer.Generation++;
            peer.State = PeerState.Recovering;
            peer.Placed = false;
            peer.AfterPause = true;
            peer.AvoidWorkerId = null;
            peer.Message = $"resuming from step {step}: waits for a slot";
        }

        Record.PauseStep = null;
        Record.State = CohortState.Running;
        AddEvent(string.Empty, EventKinds.Resumed, $"resumed from step {step}: every peer is placed again and goes on from its checkpoint of that step");
        return step;
    }

    /// <summary>A live change every peer applies at its step (agreed, or the pause step of a paused run): kept with the run for every later activation.</summary>
    public void AddChange(Core.Spec.CohortChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var index = Record.Changes.FindLastIndex(c => c.Step <= change.Step) + 1;
        Record.Changes.Insert(index, change);
        AddEvent(string.Empty, EventKinds.Changed, change.ToString());
    }

    /// <summary>Where every peer of the run is, as the cohort sees it; unplaced peers have no worker and address.</summary>
    public IReadOnlyList<PeerEndpoint> Endpoints() => Record.Peers
        .Select(p => new PeerEndpoint(
            p.Name,
            p.Placed ? p.WorkerId ?? string.Empty : string.Empty,
            p.Placed ? p.Address ?? string.Empty : string.Empty,
            p.EverPlaced ? p.Generation : 0,
            p.State,
            p.Step,
            p.WaitingAt))
        .ToList();

    /// <summary>The run ended: true once, when it reaches a terminal state (its summary is then due).</summary>
    public bool JustFinished { get; private set; }

    /// <summary>The summary was written (or failed to be); <see cref="JustFinished"/> is cleared.</summary>
    public void SummaryHandled() => JustFinished = false;

    private void Recover(PeerRecord peer, string reason, string? avoidWorker)
    {
        var old = peer.Generation;
        peer.Placed = false;
        peer.ResumeFromStep = null;
        peer.Generation = old + 1;
        peer.State = PeerState.Recovering;
        peer.WaitingAt = null;
        peer.AvoidWorkerId = avoidWorker;
        peer.Message = reason;
        AddEvent(peer.Name, EventKinds.Recovering, $"generation {old} {reason}; generation {peer.Generation} waits for a slot");
    }

    private void UpdateRunState()
    {
        if (Record.IsFinished)
        {
            return;
        }

        if (Record.Peers.All(p => p.IsFinished))
        {
            if (Record.Peers.All(p => p.State == PeerState.Completed))
            {
                Finish(CohortState.Completed, "every peer completed");
            }
            else
            {
                Finish(CohortState.Failed, $"peer(s) {string.Join(", ", Record.Peers.Where(p => p.State != PeerState.Completed).Select(p => p.Name))} did not complete");
            }

            return;
        }

        if (Record.State == CohortState.Pending && Record.Peers.All(p => p.EverPlaced))
        {
            Record.State = CohortState.Running;
            AddEvent(string.Empty, EventKinds.Running, "every peer placed");
        }
    }

    private void Finish(CohortState state, string message)
    {
        Record.State = state;
        Record.FinishedUnixMillis = Now;
        var kind = state switch
        {
            CohortState.Completed => EventKinds.Completed,
            CohortState.Failed => EventKinds.Failed,
            _ => EventKinds.Cancelled,
        };
        AddEvent(string.Empty, kind, message);
        JustFinished = true;
    }

    private void AddEvent(string peer, string kind, string message)
    {
        var e = new CohortEvent(Now, peer, kind, message);
        Record.Events.Add(e);
        var excess = Record.Events.Count - Math.Max(1, Record.MaxEvents);
        if (excess > 0)
        {
            Record.Events.RemoveRange(0, excess);
        }

        if (EventKinds.IsInterruption(kind))
        {
            Record.Interruptions.Add(e);
        }

        Changed(durable: true);
    }

    private void Changed(bool durable)
    {
        Record.Version++;
        Dirty = true;
        Durable |= durable;
    }

    private ReportReply Reply(bool stop, string reason) => new(stop, reason, Endpoints());
}
