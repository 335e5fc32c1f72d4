using System.Globalization;
using Grpc.Core;
using PeerDistill.Coordinator.Internal;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Storage;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator;

/// <summary>The CohortService side: submit, inspect, watch and cancel runs.</summary>
public sealed partial class CoordinatorState
{
    /// <summary>
    /// Starts a new run of a cohort spec (CohortService.Submit). InvalidArgument with one line per
    /// problem (as <see cref="SpecLoader"/> formats them) for an invalid spec; AlreadyExists while
    /// the cohort has a run that has not ended. Its peers are placed at once where slots are free.
    /// </summary>
    public SubmitCohortReply Submit(SubmitCohortRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var format = request.SpecFormat.Trim().ToLowerInvariant();
        if (format.Length == 0)
        {
            format = "yaml";
        }

        if (format is not ("yaml" or "json"))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Submit: spec_format '{request.SpecFormat}' is not supported; use \"yaml\" or \"json\""));
        }

        if (string.IsNullOrWhiteSpace(request.SpecText))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Submit: spec_text is empty; send the cohort spec, as the YAML or JSON cohort file"));
        }

        // Parsing builds every zoo model once (native): done outside the lock.
        var loaded = SpecLoader.Parse(request.SpecText, "submitted." + format);
        if (!loaded.IsValid)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join('\n', loaded.Errors)));
        }

        var spec = loaded.Spec;
        var (outputBase, checkpointBase) = ConfinedDirectories(spec);
        lock (_gate)
        {
            var now = Now;
            if (_runs.FirstOrDefault(r => r.Cohort == spec.Cohort && !r.IsFinished) is { } open)
            {
                throw new RpcException(new Status(
                    StatusCode.AlreadyExists,
                    $"Submit: cohort '{spec.Cohort}' already has run '{open.Run}' ({PeerStates.Name(open.State)}); cancel it or wait for it to end before submitting the cohort again"));
            }

            var runId = NewRunId(spec.Cohort, now);
            var output = Path.Combine(outputBase, runId);
            var checkpoints = checkpointBase ?? (_options.CheckpointRoot is not null ? Path.Combine(_checkpointRoot, spec.Cohort, runId) : Path.Combine(output, "checkpoints"));
            var run = new CohortRun(++_sequence, runId, spec, request.SpecText, format, output, checkpoints, now);
            _runs.Add(run);
            Log.Submitted(_logger, run.Cohort, run.Run, run.Peers.Count, output);
            AddEvent(run, now, string.Empty, EventKinds.Submitted, $"{run.Peers.Count} peer(s) ({string.Join(", ", run.Peers.Select(p => p.Name))}); output {output}");
            PlaceWaitingPeers(now);
            UpdateRunState(run, now);
            Commit();
            return new SubmitCohortReply { Cohort = run.Cohort, Run = run.Run };
        }
    }

    /// <summary>The status of one run (CohortService.GetCohort); an empty run id means the cohort's latest run. NotFound if there is none.</summary>
    public CohortStatus GetCohort(GetCohortRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            return ToStatus(Resolve("GetCohort", request.Cohort, request.Run));
        }
    }

    /// <summary>Every run, most recently submitted first, optionally only those in one state (CohortService.ListCohorts).</summary>
    public ListCohortsReply ListCohorts(ListCohortsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var reply = new ListCohortsReply();
            reply.Cohorts.AddRange(_runs
                .Where(r => request.State == CohortState.Unspecified || r.State == request.State)
                .OrderByDescending(r => r.Sequence)
                .Select(ToStatus));
            return reply;
        }
    }

    /// <summary>
    /// Sends the status of one run now and again every time it changes (CohortService.WatchCohort),
    /// until the status that reports its end, <paramref name="cancellationToken"/> (the client
    /// left) or the coordinator's shutdown. NotFound if there is no such run.
    /// </summary>
    public async Task WatchCohortAsync(GetCohortRequest request, Func<CohortStatus, Task> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(send);
        CohortRun run;
        lock (_gate)
        {
            run = Resolve("WatchCohort", request.Cohort, request.Run);
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        CohortStatus? last = null;
        while (true)
        {
            CohortStatus status;
            Task changed;
            bool finished;
            lock (_gate)
            {
                status = ToStatus(run);
                changed = _changed.Task;
                finished = run.IsFinished;
            }

            if (!status.Equals(last))
            {
                await send(status).ConfigureAwait(false);
                last = status;
            }

            if (finished)
            {
                return;
            }

            try
            {
                await changed.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Cancels a run (CohortService.CancelCohort): its unfinished peers become INTERRUPTED and go
    /// into the <c>stop</c> of their workers' next heartbeat reply; the run ends CANCELLED and
    /// writes its summary. A run that already ended keeps (and reports) its state.
    /// </summary>
    public CancelCohortReply CancelCohort(CancelCohortRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var run = Resolve("CancelCohort", request.Cohort, request.Run);
            if (run.IsFinished)
            {
                return new CancelCohortReply { State = run.State };
            }

            var now = Now;
            var reason = string.IsNullOrWhiteSpace(request.Reason) ? "cancelled by request" : request.Reason.Trim();
            foreach (var peer in run.Peers)
            {
                if (peer.IsFinished)
                {
                    continue;
                }

                if (peer.Placed && peer.WorkerId is { } workerId && _workers.TryGetValue(workerId, out var worker))
                {
                    worker.PendingStops.Add(new PeerRef { Cohort = run.Cohort, Run = run.Run, Peer = peer.Name, Generation = peer.Generation });
                }

                peer.State = PeerState.Interrupted;
                peer.Message = "cancelled: " + reason;
            }

            Log.Cancelled(_logger, run.Cohort, run.Run, reason);
            Finish(run, CohortState.Cancelled, now, reason);
            Commit();
            return new CancelCohortReply { State = run.State };
        }
    }

    private CohortRun Resolve(string operation, string cohort, string run)
    {
        if (string.IsNullOrWhiteSpace(cohort))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{operation}: cohort is empty; name the cohort (and optionally the run)"));
        }

        var runs = _runs.Where(r => r.Cohort == cohort).ToList();
        if (runs.Count == 0)
        {
            var known = _runs.Select(r => r.Cohort).Distinct().ToList();
            throw new RpcException(new Status(
                StatusCode.NotFound,
                $"{operation}: no cohort named '{cohort}'" + (known.Count > 0 ? $" (known: {string.Join(", ", known)})" : " (no cohort has been submitted)")));
        }

        if (run.Length == 0)
        {
            return runs.MaxBy(r => r.Sequence)!;
        }

        return runs.FirstOrDefault(r => r.Run == run)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"{operation}: cohort '{cohort}' has no run '{run}' (its runs: {string.Join(", ", runs.Select(r => r.Run))})"));
    }

    private CohortStatus ToStatus(CohortRun run)
    {
        var status = new CohortStatus
        {
            Cohort = run.Cohort,
            Run = run.Run,
            State = run.State,
            CreatedUnixMillis = run.Created.ToUnixTimeMilliseconds(),
        };
        if (run.Finished is { } finished)
        {
            status.FinishedUnixMillis = finished.ToUnixTimeMilliseconds();
        }

        foreach (var peer in run.Peers)
        {
            var p = new PeerDistill.Protocol.V1.PeerStatus
            {
                Peer = peer.Name,
                WorkerId = peer.WorkerId ?? string.Empty,
                Generation = peer.EverPlaced ? peer.Generation : 0,
                Step = peer.Step,
                TotalSteps = peer.TotalSteps,
                State = peer.State,
                Message = peer.Message,
            };
            if (peer.LastLoss is { } loss)
            {
                p.LastLoss = loss;
            }

            if (peer.Accuracy is { } accuracy)
            {
                p.Accuracy = accuracy;
            }

            status.Peers.Add(p);
        }

        status.Events.AddRange(run.Events.Select(e => e.Clone()));
        return status;
    }

    /// <summary><c>&lt;cohort&gt;-&lt;yyyyMMdd-HHmmss&gt;</c> (UTC), with <c>-2</c>, <c>-3</c>, ... when that run exists already.</summary>
    private string NewRunId(string cohort, DateTimeOffset now)
    {
        var stem = cohort + "-" + now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var id = stem;
        for (var n = 2; FindRun(cohort, id) is not null; n++)
        {
            id = string.Create(CultureInfo.InvariantCulture, $"{stem}-{n}");
        }

        return id;
    }

    /// <summary>
    /// Where a submitted cohort writes, always under the coordinator's roots (the client names the
    /// cohort, not the place): output &lt;output root&gt;/&lt;cohort&gt;/&lt;run&gt;, or
    /// &lt;output&gt;/&lt;run&gt; for an absolute <c>output</c> under the output root (a relative one
    /// is <c>peerdistill run</c>'s and is not used here); checkpoints under the checkpoint root
    /// (<see cref="CoordinatorOptions.CheckpointRoot"/>, else the output root), at the spec's
    /// <c>checkpoints.directory</c> if it gives one (relative to that root). Returns the output
    /// directory without the run, and the spec's checkpoint directory (null: the default, which
    /// depends on the run). InvalidArgument, naming the field, for a place outside the roots.
    /// </summary>
    private (string Output, string? Checkpoints) ConfinedDirectories(CohortSpec spec)
    {
        string output;
        if (spec.Output is { } given && Path.IsPathRooted(given))
        {
            output = Path.GetFullPath(given);
            Confine("output", given, output, _outputRoot, "output root");
        }
        else
        {
            output = Path.Combine(_outputRoot, spec.Cohort);
            Confine("cohort", spec.Cohort, output, _outputRoot, "output root");
        }
        string? checkpoints = null;
        if (spec.Checkpoints.Directory is { Length: > 0 } directory)
        {
            checkpoints = Path.GetFullPath(Path.IsPathRooted(directory) ? directory : Path.Combine(_checkpointRoot, directory));
            Confine("checkpoints.directory", directory, checkpoints, _checkpointRoot, "checkpoint root");
        }

        return (output, checkpoints);
    }

    private static void Confine(string field, string given, string resolved, string root, string rootName)
    {
        bool inside;
        try
        {
            inside = ConfinedPath.IsUnder(resolved, root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Submit: {field}: cannot resolve '{given}': {e.Message}"));
        }

        if (!inside)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                $"Submit: {field}: '{given}' is outside the coordinator's {rootName} '{root}'; a submitted cohort writes only under it (leave {field} out, or name a place under it)"));
        }
    }
}
