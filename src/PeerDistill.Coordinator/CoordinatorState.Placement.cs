using PeerDistill.Coordinator.Internal;
using PeerDistill.Core.Runner;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator;

/// <summary>Placement, recovery and the lifecycle of runs; every method here runs with the lock held.</summary>
public sealed partial class CoordinatorState
{
    /// <summary>
    /// Applies one progress report about (cohort, run, peer, generation) from the worker
    /// <paramref name="reporter"/>. Only the worker the current generation is placed on is heard;
    /// any other incarnation (an older generation, a peer of a run or generation this coordinator
    /// never placed there) is told to stop.
    /// </summary>
    private ProgressOutcome Apply(PeerProgress progress, string reporter, DateTimeOffset now)
    {
        var run = FindRun(progress.Cohort, progress.Run);
        var peer = run?.FindPeer(progress.Peer);
        if (run is null || peer is null)
        {
            Log.ProgressIgnored(_logger, progress.Cohort, progress.Run, progress.Peer, progress.Generation, $"this coordinator has no such cohort run or peer; worker '{reporter}' is told to stop it");
            return Training(progress) ? ProgressOutcome.StopIt : ProgressOutcome.None;
        }

        if (progress.Generation < peer.Generation)
        {
            Log.StaleProgress(_logger, run.Cohort, run.Run, peer.Name, progress.Generation, peer.Generation);
            return ProgressOutcome.StopIt;
        }

        if (progress.Generation > peer.Generation || !peer.Placed)
        {
            Log.ProgressIgnored(_logger, run.Cohort, run.Run, peer.Name, progress.Generation, $"the coordinator has not activated generation {progress.Generation}; worker '{reporter}' is told to stop it");
            return Training(progress) ? ProgressOutcome.StopIt : ProgressOutcome.None;
        }

        if (peer.WorkerId != reporter)
        {
            Log.ProgressIgnored(_logger, run.Cohort, run.Run, peer.Name, progress.Generation, $"that generation is placed on worker '{peer.WorkerId}', not on '{reporter}', which is told to stop it");
            return Training(progress) ? ProgressOutcome.StopIt : ProgressOutcome.None;
        }

        peer.Acknowledged = true;
        if (run.IsFinished || peer.IsFinished)
        {
            // A peer of a cancelled run that still trains is told to stop again; anything else
            // about a finished peer changes nothing.
            return Training(progress) && run.State == CohortState.Cancelled ? ProgressOutcome.StopIt : ProgressOutcome.None;
        }

        peer.Step = progress.Step;
        peer.TotalSteps = progress.TotalSteps;
        if (progress.Step > 0 || progress.Loss != 0)
        {
            peer.LastLoss = progress.Loss;
        }

        if (progress.HasAccuracy)
        {
            peer.Accuracy = progress.Accuracy;
        }

        peer.Message = progress.Message;
        _dirty = true;
        switch (progress.State)
        {
            case PeerState.Active:
                if (peer.State != PeerState.Active)
                {
                    AddEvent(run, now, peer.Name, EventKinds.Activated, $"generation {peer.Generation} active on worker '{peer.WorkerId}' slot {peer.SlotIndex} at step {progress.Step}");
                    peer.State = PeerState.Active;
                }

                break;
            case PeerState.Pending or PeerState.Recovering:
                peer.State = progress.State;
                break;
            case PeerState.Completed:
                peer.State = PeerState.Completed;
                AddEvent(run, now, peer.Name, EventKinds.Completed, $"generation {peer.Generation} completed {progress.Step} steps on worker '{peer.WorkerId}'" + (peer.Accuracy is { } a ? $", accuracy {a:0.0000}" : string.Empty));
                break;
            case PeerState.Failed:
                peer.State = PeerState.Failed;
                Log.PeerFailed(_logger, run.Cohort, run.Run, peer.Name, progress.Message);
                AddEvent(run, now, peer.Name, EventKinds.Failed, $"generation {peer.Generation} failed on worker '{peer.WorkerId}' at step {progress.Step}: {progress.Message}");
                break;
            case PeerState.Interrupted:
                // Interrupted while its run goes on (worker shutdown, a Deactivate from elsewhere):
                // the peer recovers like one whose worker was lost, on another worker if there is one.
                var where = peer.WorkerId;
                AddEvent(run, now, peer.Name, EventKinds.Interrupted, $"generation {peer.Generation} interrupted on worker '{where}' at step {progress.Step}" + (progress.Message.Length > 0 ? ": " + progress.Message : string.Empty));
                Recover(run, peer, now, $"interrupted on worker '{where}' at step {progress.Step}", avoidWorker: where);
                break;
        }

        UpdateRunState(run, now);
        return ProgressOutcome.None;
    }

    private static bool Training(PeerProgress progress) => progress.State is PeerState.Active or PeerState.Pending or PeerState.Recovering;

    /// <summary>Every unfinished peer <paramref name="worker"/> hosted is lost: an event per affected run, and each peer recovers.</summary>
    private void LosePeersOf(WorkerRecord worker, DateTimeOffset now, string reason)
    {
        foreach (var run in _runs)
        {
            if (run.IsFinished)
            {
                continue;
            }

            var lost = run.Peers.Where(p => p.HoldsSlot && p.WorkerId == worker.Id).ToList();
            if (lost.Count == 0)
            {
                continue;
            }

            AddEvent(run, now, string.Empty, EventKinds.WorkerLost, $"{reason}; peers lost: {string.Join(", ", lost.Select(p => p.Name))}");
            foreach (var peer in lost)
            {
                Recover(run, peer, now, $"lost with worker '{worker.Id}' at step {peer.Step}", avoidWorker: null);
            }

            UpdateRunState(run, now);
        }
    }

    /// <summary>The peer's current generation is gone: it becomes RECOVERING with the next generation, waiting for a slot.</summary>
    private void Recover(CohortRun run, PeerRecord peer, DateTimeOffset now, string reason, string? avoidWorker)
    {
        var old = peer.Generation;
        peer.Placed = false;
        peer.Acknowledged = false;
        peer.ResumeFromStep = null;
        peer.Generation = old + 1;
        peer.State = PeerState.Recovering;
        peer.AvoidWorkerId = avoidWorker;
        peer.Message = reason;
        Log.Recovering(_logger, run.Cohort, run.Run, peer.Name, peer.Generation, reason);
        AddEvent(run, now, peer.Name, EventKinds.Recovering, $"generation {old} {reason}; generation {peer.Generation} waits for a slot");
    }

    /// <summary>
    /// Places every peer that waits for a slot, recovering ones first, runs in submission order:
    /// on the alive worker with the most free slots (ties: fewest peers of the same run, then id),
    /// in its lowest free slot.
    /// </summary>
    private void PlaceWaitingPeers(DateTimeOffset now)
    {
        var waiting = new List<(CohortRun Run, PeerRecord Peer)>();
        foreach (var state in (ReadOnlySpan<PeerState>)[PeerState.Recovering, PeerState.Pending])
        {
            foreach (var run in _runs)
            {
                if (!run.IsFinished)
                {
                    waiting.AddRange(run.Peers.Where(p => !p.Placed && p.State == state).Select(p => (run, p)));
                }
            }
        }

        if (waiting.Count == 0 || _workers.Count == 0)
        {
            return;
        }

        var occupied = new HashSet<(string Worker, int Slot)>();
        foreach (var run in _runs)
        {
            foreach (var peer in run.Peers)
            {
                if (peer.HoldsSlot && !run.IsFinished)
                {
                    occupied.Add((peer.WorkerId!, peer.SlotIndex));
                }
            }
        }

        var touched = new HashSet<CohortRun>();
        foreach (var (run, peer) in waiting)
        {
            if (ChooseSlot(run, peer, now, occupied) is not { } choice)
            {
                continue;
            }

            occupied.Add((choice.Worker.Id, choice.Slot));
            Place(run, peer, choice.Worker, choice.Slot, now);
            touched.Add(run);
        }

        foreach (var run in touched)
        {
            UpdateRunState(run, now);
        }
    }

    private (WorkerRecord Worker, int Slot)? ChooseSlot(CohortRun run, PeerRecord peer, DateTimeOffset now, HashSet<(string Worker, int Slot)> occupied)
    {
        WorkerRecord? best = null;
        int bestFree = 0, bestSame = 0, bestSlot = -1;
        foreach (var worker in _workers.Values)
        {
            if (!worker.IsAlive(now) || worker.Id == peer.AvoidWorkerId)
            {
                continue;
            }

            var free = 0;
            var lowest = -1;
            foreach (var slot in worker.Slots)
            {
                if (!occupied.Contains((worker.Id, slot.Index)))
                {
                    free++;
                    lowest = lowest < 0 ? slot.Index : Math.Min(lowest, slot.Index);
                }
            }

            if (free == 0)
            {
                continue;
            }

            var same = run.Peers.Count(p => p.HoldsSlot && p.WorkerId == worker.Id);
            var better = best is null
                || free > bestFree
                || (free == bestFree && same < bestSame)
                || (free == bestFree && same == bestSame && string.CompareOrdinal(worker.Id, best.Id) < 0);
            if (better)
            {
                (best, bestFree, bestSame, bestSlot) = (worker, free, same, lowest);
            }
        }

        return best is null ? null : (best, bestSlot);
    }

    private void Place(CohortRun run, PeerRecord peer, WorkerRecord worker, int slot, DateTimeOffset now)
    {
        var reactivation = peer.EverPlaced || peer.Generation > 1;
        peer.Placed = true;
        peer.EverPlaced = true;
        peer.WorkerId = worker.Id;
        peer.Address = worker.Address;
        peer.SlotIndex = slot;
        peer.Acknowledged = false;
        peer.ResumeFromStep = reactivation ? NewestCheckpoint(run, peer) : null;
        var resume = peer.ResumeFromStep is { } step ? $"resuming from step {step}" : "from scratch";
        Log.Placed(_logger, run.Cohort, run.Run, peer.Name, peer.Generation, worker.Id, slot, resume);
        if (reactivation)
        {
            peer.Message = $"reactivated on worker '{worker.Id}', {resume}";
            AddEvent(run, now, peer.Name, EventKinds.Reactivated, $"generation {peer.Generation} on worker '{worker.Id}' slot {slot}, {resume}");
        }
        else
        {
            AddEvent(run, now, peer.Name, EventKinds.Placed, $"generation {peer.Generation} on worker '{worker.Id}' slot {slot}");
        }
    }

    /// <summary>The step of the peer's newest checkpoint (CheckpointStore's layout under the run's checkpoint directory), or null.</summary>
    private long? NewestCheckpoint(CohortRun run, PeerRecord peer)
    {
        try
        {
            var checkpoints = new CheckpointStore(run.CheckpointDirectory, run.Run, run.Spec.Checkpoints.KeepLast).List(peer.Name);
            return checkpoints.Count > 0 ? checkpoints[^1].Step : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CheckpointListFailed(_logger, peer.Name, run.CheckpointDirectory, e);
            return null;
        }
    }

    private Assignment CreateAssignment(CohortRun run, PeerRecord peer)
    {
        var assignment = new Assignment
        {
            Cohort = run.Cohort,
            Run = run.Run,
            Peer = peer.Name,
            Generation = peer.Generation,
            SlotIndex = peer.SlotIndex,
            SpecText = run.SpecText,
            SpecFormat = run.SpecFormat,
            CheckpointDir = run.CheckpointDirectory,
            OutputDir = run.OutputDirectory,
        };
        if (peer.ResumeFromStep is { } step)
        {
            assignment.ResumeFromStep = step;
        }

        assignment.Peers.AddRange(Endpoints(run));
        return assignment;
    }

    /// <summary>Where every peer of <paramref name="run"/> is, as the coordinator sees it; unplaced peers have no worker and address.</summary>
    private static IEnumerable<PeerEndpoint> Endpoints(CohortRun run) =>
        run.Peers.Select(p => new PeerEndpoint
        {
            Peer = p.Name,
            WorkerId = p.Placed ? p.WorkerId ?? string.Empty : string.Empty,
            Address = p.Placed ? p.Address ?? string.Empty : string.Empty,
            Generation = p.EverPlaced ? p.Generation : 0,
            Cohort = run.Cohort,
            Run = run.Run,
            State = p.State,
            Step = p.Step,
        });

    /// <summary>Moves a run along: running once every peer was placed; completed or failed once every peer finished.</summary>
    private void UpdateRunState(CohortRun run, DateTimeOffset now)
    {
        if (run.IsFinished)
        {
            return;
        }

        if (run.Peers.All(p => p.IsFinished))
        {
            if (run.Peers.All(p => p.State == PeerState.Completed))
            {
                Finish(run, CohortState.Completed, now, "every peer completed");
            }
            else
            {
                var failed = run.Peers.Where(p => p.State != PeerState.Completed).Select(p => p.Name);
                Finish(run, CohortState.Failed, now, $"peer(s) {string.Join(", ", failed)} did not complete");
            }

            return;
        }

        if (run.State == CohortState.Pending && run.Peers.All(p => p.EverPlaced))
        {
            run.State = CohortState.Running;
            AddEvent(run, now, string.Empty, EventKinds.Running, "every peer placed");
        }
    }

    /// <summary>Ends a run in <paramref name="state"/> and writes its summary.json.</summary>
    private void Finish(CohortRun run, CohortState state, DateTimeOffset now, string message)
    {
        run.State = state;
        run.Finished = now;
        var kind = state switch
        {
            CohortState.Completed => EventKinds.Completed,
            CohortState.Failed => EventKinds.Failed,
            _ => EventKinds.Cancelled,
        };
        AddEvent(run, now, string.Empty, kind, message);
        Log.Finished(_logger, run.Cohort, run.Run, PeerStates.Name(state), (now - run.Created).TotalSeconds);
        var path = Path.Combine(run.OutputDirectory, SummaryFile.FileName);
        try
        {
            SummaryFile.Write(run.OutputDirectory, SummaryFile.Create(run));
            Log.SummaryWritten(_logger, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Log.SummaryFailed(_logger, path, e);
        }
    }

    private void AddEvent(CohortRun run, DateTimeOffset now, string peer, string kind, string message)
    {
        var e = new CohortEvent { UnixMillis = now.ToUnixTimeMilliseconds(), Peer = peer, Kind = kind, Message = message };
        run.Events.Add(e);
        var excess = run.Events.Count - Math.Max(1, _options.MaxEventsPerRun);
        if (excess > 0)
        {
            run.Events.RemoveRange(0, excess);
        }

        if (InterruptionKinds.Contains(kind))
        {
            run.Interruptions.Add(e);
        }

        _dirty = true;
    }

    private CohortRun? FindRun(string cohort, string run)
    {
        foreach (var candidate in _runs)
        {
            if (candidate.Run == run && candidate.Cohort == cohort)
            {
                return candidate;
            }
        }

        return null;
    }
}
