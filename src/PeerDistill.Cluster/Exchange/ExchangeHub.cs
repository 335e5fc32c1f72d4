using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Exchange;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The receiving side of a worker's logit exchange: one inbox per peer hosted here. Every frame is
/// checked (cohort and run, receiver hosted here, sender a teacher of it, generation the one the
/// coordinator gave the sender, step inside the window and within the sender's progress, one frame
/// per step, shape and class count, dtype and length, finite values within the cohort's bound; for
/// top-k frames also k, rest mode, class indices and each row's mass)
/// before its logits are kept; a refused frame is logged with its sender and answered with the
/// status code that names the problem, changes nothing, and the receiving peer trains on.
/// </summary>
/// <remarks>
/// What a frame claims is never believed beyond what the coordinator says of its sender (the
/// <see cref="CohortDirectory"/>): a frame must carry the sender's current generation, and no frame
/// can make the receiver stop waiting for a teacher (only the coordinator's report of the teacher's
/// progress can). A stream that has carried a sender's frames goes on being believed for later
/// steps (a genuine sender sends its steps in order and skips only frames dropped on the way); on
/// any other stream a frame's step may be at most one past the sender's last accepted frame, or the
/// step the coordinator last saw the sender reach, whichever is later. A frame that claims more is
/// refused and changes nothing; the genuine sender sends a refused frame again until it is taken.
/// Frames handed over by peers of this worker (no stream) are this process's own.
/// </remarks>
public sealed class ExchangeHub
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Inbox> _inboxes = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public ExchangeHub(ExchangeSettings settings, CohortDirectory directory, ILogger logger)
    {
        Settings = settings;
        Directory = directory;
        _logger = logger;
        directory.Changed += _ => Wake();
    }

    public ExchangeSettings Settings { get; }

    public CohortDirectory Directory { get; }

    /// <summary>Opens the inbox of a peer hosted here, learning from <paramref name="teachers"/>, from <paramref name="startStep"/>.</summary>
    public void Host(string peer, ulong generation, IEnumerable<string> teachers, long startStep)
    {
        lock (_gate)
        {
            _inboxes[peer] = new Inbox(peer, generation, new HashSet<string>(teachers, StringComparer.Ordinal), startStep);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Closes the inbox of a peer that left this worker; later frames for it are refused.</summary>
    public void Release(string peer)
    {
        lock (_gate)
        {
            _inboxes.Remove(peer);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The peers hosted here, their generations and the step each is at.</summary>
    public IReadOnlyList<HostedPeer> Hosted()
    {
        lock (_gate)
        {
            return _inboxes.Values.Select(i => new HostedPeer { Name = i.Peer, Generation = i.Generation, Step = i.Current }).ToList();
        }
    }

    /// <summary>
    /// Checks <paramref name="frame"/> and keeps its logits for the receiver, or says why not.
    /// <paramref name="stream"/> identifies the network stream it came on (one object per call);
    /// null for a frame handed over by a peer of this worker.
    /// </summary>
    public FrameVerdict Deliver(LogitsFrame frame, object? stream = null)
    {
        var verdict = Check(frame, stream);
        if (verdict.Behind || verdict.Code == StatusCode.Unavailable || verdict.Code == StatusCode.OutOfRange && frame.Step >= 0 && frame.Step < Settings.TotalSteps)
        {
            // Expected while a peer catches up after a re-activation (its teachers are ahead of it, or
            // it is behind them, or the coordinator's news of it is on its way); the sender hears
            // about it in the acknowledgement.
            Log.FrameOutsideWindow(_logger, frame.Sender, frame.Receiver, frame.Step, verdict.Reason);
        }
        else if (!verdict.Accepted)
        {
            Log.FrameRefused(_logger, frame.Sender, frame.Receiver, frame.Step, verdict.Code, verdict.Reason);
        }

        return verdict;
    }

    /// <summary>
    /// The logits of <paramref name="step"/> from each of <paramref name="from"/> that can be had:
    /// waits for every active teacher whose logits of that step may still come, at most the step
    /// timeout, and until the quorum of teachers is present (see <see cref="Classify"/> for which
    /// teachers are waited for, and how long). In the order of <paramref name="from"/>. While it
    /// waits, <see cref="WaitOf"/> says what for, and every <see cref="ExchangeSettings.StallWarningAfter"/>
    /// a warning names the teachers it lacks.
    /// </summary>
    public IReadOnlyList<(string Peer, long Step, float[] Values, ActivityContext Origin)> Gather(string receiver, long step, IReadOnlyList<string> from, CancellationToken cancellation)
    {
        var policy = Settings.Policy;
        if (!policy.IsSynchronous)
        {
            return GatherFreshest(receiver, step, from);
        }

        var started = DateTime.UtcNow;
        var deadline = started + policy.StepTimeout;
        var warnAt = started + ExchangeSettings.StallWarningAfter;
        using var wake = cancellation.Register(Wake);
        lock (_gate)
        {
            var inbox = _inboxes.GetValueOrDefault(receiver) ?? throw new InvalidOperationException($"peer '{receiver}' is not hosted by this worker");
            inbox.Advance(step, 0);
            inbox.GatherStarted(System.Diagnostics.Stopwatch.GetTimestamp());
            var availability = new TeacherAvailability[from.Count];
            var views = new TeacherView[from.Count];
            try
            {
                while (true)
                {
                    cancellation.ThrowIfCancellationRequested();
                    var now = DateTime.UtcNow;
                    var pastDeadline = now >= deadline;
                    var present = new List<(string, long, float[], ActivityContext)>(from.Count);
                    for (var i = 0; i < from.Count; i++)
                    {
                        if (inbox.TryGet(from[i], step, out var kept))
                        {
                            present.Add((from[i], step, kept.Values, kept.Origin));
                            (views[i], availability[i]) = (TeacherView.Present, TeacherAvailability.Present);
                            continue;
                        }

                        views[i] = Classify(inbox, from[i], step, pastDeadline, now - started);
                        availability[i] = views[i] switch
                        {
                            TeacherView.Awaited => TeacherAvailability.Awaited,
                            TeacherView.Missing or TeacherView.Behind => TeacherAvailability.Missing,
                            _ => TeacherAvailability.Gone,
                        };
                    }

                    if (policy.MayStep(availability, pastDeadline))
                    {
                        var awaited = views.Count(v => v == TeacherView.Awaited);
                        if (awaited > 0)
                        {
                            Log.SteppedWithout(_logger, receiver, step, awaited, policy.StepTimeout.TotalSeconds);
                        }

                        foreach (var lost in from.Where((_, i) => views[i] == TeacherView.Lost))
                        {
                            Log.SteppedWithoutLost(_logger, receiver, step, lost, policy.StepTimeout.TotalSeconds);
                        }

                        inbox.Advance(step + 1, 0);
                        return present;
                    }

                    var lacking = from.Select((t, i) => (Teacher: t, View: views[i])).Where(t => t.View is not (TeacherView.Present or TeacherView.Ahead or TeacherView.Lost)).Select(t => Describe(inbox, t.Teacher, t.View)).ToList();
                    inbox.Wait = new GatherWait(step, started, lacking);
                    if (now >= warnAt)
                    {
                        Log.StillWaiting(_logger, receiver, step, (now - started).TotalSeconds, string.Join("; ", lacking));
                        warnAt = now + ExchangeSettings.StallWarningAfter;
                    }

                    Monitor.Wait(_gate, ExchangePolicy.NextCheck(deadline, now));
                }
            }
            finally
            {
                inbox.Wait = null;
                inbox.GatherEnded(System.Diagnostics.Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>What <paramref name="receiver"/> waits for now (the step, since when, and each teacher it lacks and why); null when it is not waiting.</summary>
    public GatherWait? WaitOf(string receiver)
    {
        lock (_gate)
        {
            return _inboxes.GetValueOrDefault(receiver)?.Wait;
        }
    }

    /// <summary>
    /// Where a teacher whose logits of <paramref name="step"/> are not here stands, from what the
    /// coordinator says of it (the directory) and the frames taken from it:
    /// <list type="bullet">
    /// <item>done for good, or past the step (a later frame of it was taken, or the coordinator saw it
    /// complete more than one step beyond this one; one beyond is normal: a teacher that learns from
    /// this peer completes the step as soon as it has this peer's logits, while its own may still be
    /// on their way): it will never send them (<see cref="TeacherView.Ahead"/>, not waited for);</item>
    /// <item>not placed now (lost, being re-activated): <see cref="TeacherView.Missing"/>;</item>
    /// <item>more than one frame behind this step (a re-activation from an older checkpoint, catching
    /// up), further than it can catch up in half the step timeout at this peer's pace, or still
    /// behind after a gather waited half the timeout for it (then not waited for again while it is
    /// behind, in that generation): <see cref="TeacherView.Behind"/>,
    /// counted like a missing teacher, never waited for until the timeout; the cohort tells its
    /// progress, so this is known at once (a teacher expected sooner is awaited, below, for at most
    /// half the timeout);</item>
    /// <item>past the step timeout, a teacher that has sent them (it completed the step, or it waits
    /// at it for its own teachers, having published) but whose frame did not arrive:
    /// <see cref="TeacherView.Lost"/>, not waited for any longer;</item>
    /// <item>otherwise <see cref="TeacherView.Awaited"/>: live, and its logits may still come.</item>
    /// </list>
    /// </summary>
    private TeacherView Classify(Inbox inbox, string teacher, long step, bool pastDeadline, TimeSpan waited)
    {
        var location = Directory.Find(teacher);
        if (location?.State == PeerPresence.Done || inbox.Highest(teacher) > step || (location?.Step ?? 0) > Settings.FrameAfter(step))
        {
            return TeacherView.Ahead;
        }

        if (location is null || location.State != PeerPresence.Active)
        {
            return TeacherView.Missing;
        }

        var progress = Math.Max(location.Step, inbox.Highest(teacher, location.Generation) + 1);
        if (Settings.FrameAfter(progress) < step)
        {
            if (inbox.GaveUpOn(teacher, location.Generation) || !CatchesUpSoon(inbox, step - progress))
            {
                return TeacherView.Behind;
            }

            if (waited >= Settings.Policy.StepTimeout / 2)
            {
                // Slower than expected: not waited for again until it has caught up.
                inbox.GiveUpOn(teacher, location.Generation);
                return TeacherView.Behind;
            }
        }

        return pastDeadline && (location.Step > step || location.WaitingAt >= step) ? TeacherView.Lost : TeacherView.Awaited;
    }

    /// <summary>
    /// Whether a teacher <paramref name="steps"/> behind should reach the step within half the step
    /// timeout, stepping as fast as this peer does (it waits for no one while it catches up): then
    /// it is waited for, so that a cohort whose peer came back a little behind learns together
    /// again; a longer catch-up is not waited for at all.
    /// </summary>
    private bool CatchesUpSoon(Inbox inbox, long steps) =>
        inbox.StepTime is { } stepTime && stepTime * steps <= Settings.Policy.StepTimeout / 2;

    /// <summary>A lacking teacher, for a person: who, and what the coordinator says of it.</summary>
    private string Describe(Inbox inbox, string teacher, TeacherView view)
    {
        var location = Directory.Find(teacher);
        var where = location is null || location.WorkerId.Length == 0 ? string.Empty : $" on worker '{location.WorkerId}'";
        return view switch
        {
            TeacherView.Behind => $"'{teacher}' (generation {location!.Generation}{where}, catching up: at step {Math.Max(location.Step, inbox.Highest(teacher, location.Generation) + 1)})",
            TeacherView.Missing => location is null || location.Generation == 0
                ? $"'{teacher}' (not placed yet)"
                : $"'{teacher}' (generation {location.Generation} lost, being re-activated)",
            _ => $"'{teacher}' (active{where}, at step {location!.Step}{(location.WaitingAt is { } w ? $", itself waiting at step {w}" : string.Empty)})",
        };
    }

    /// <summary>
    /// Bounded staleness: never waits; for each teacher, its logits of the latest step in
    /// [<paramref name="step"/> - k, <paramref name="step"/>] that has arrived, if any.
    /// </summary>
    private List<(string Peer, long Step, float[] Values, ActivityContext Origin)> GatherFreshest(string receiver, long step, IReadOnlyList<string> from)
    {
        var k = Settings.MaxStaleness;
        lock (_gate)
        {
            var inbox = _inboxes.GetValueOrDefault(receiver) ?? throw new InvalidOperationException($"peer '{receiver}' is not hosted by this worker");
            inbox.Advance(step, k);
            var result = new List<(string, long, float[], ActivityContext)>(from.Count);
            foreach (var teacher in from)
            {
                for (var s = step; s >= Settings.Policy.OldestUsable(step); s--)
                {
                    if (inbox.TryGet(teacher, s, out var kept))
                    {
                        result.Add((teacher, s, kept.Values, kept.Origin));
                        break;
                    }
                }
            }

            inbox.Advance(step + 1, k);
            return result;
        }
    }

    private FrameVerdict Check(LogitsFrame frame, object? stream)
    {
        var s = Settings;
        lock (_gate)
        {
            if (frame.Cohort != s.Cohort || frame.Run != s.Run)
            {
                return Refuse(StatusCode.NotFound, -1, $"frame from '{frame.Sender}' is for cohort '{frame.Cohort}' run '{frame.Run}'; this worker hosts cohort '{s.Cohort}' run '{s.Run}'");
            }

            if (!_inboxes.TryGetValue(frame.Receiver, out var inbox))
            {
                return Refuse(StatusCode.NotFound, -1, $"frame from '{frame.Sender}' is addressed to peer '{frame.Receiver}', which this worker does not host");
            }

            if (!inbox.Teachers.Contains(frame.Sender))
            {
                return Refuse(StatusCode.PermissionDenied, inbox.Highest(frame.Sender), $"'{frame.Sender}' is not a teacher of '{frame.Receiver}' in cohort '{s.Cohort}'");
            }

            var known = inbox.Highest(frame.Sender);
            if (frame.Step < 0 || frame.Step >= s.TotalSteps)
            {
                return Refuse(StatusCode.OutOfRange, known, $"frame from '{frame.Sender}' has step {frame.Step}, outside the run's steps [0, {s.TotalSteps})");
            }

            var batch = s.BatchSizeAt(frame.Step);
            if (frame.Shape.Count != 2 || frame.Shape[0] != batch || frame.Shape[1] != s.Classes)
            {
                return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} has shape [{string.Join(", ", frame.Shape)}]; expected [{batch}, {s.Classes}] (batch, classes)");
            }

            if (frame.Dtype != s.WireDType)
            {
                return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} is {frame.Dtype}; the cohort's wire dtype is {s.WireDType}");
            }

            float[] values;
            if (frame.Dtype == WireDType.Topk)
            {
                if (frame.Topk != s.TopK)
                {
                    return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} carries topk {frame.Topk}; the cohort's exchange.topk is {s.TopK}");
                }

                if (frame.TopkRest != WireCodec.ToWire(s.TopKRest))
                {
                    return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} carries topk_rest {frame.TopkRest}; the cohort's exchange.topk_rest is {WireCodec.ToWire(s.TopKRest)}");
                }

                // Checked entry by entry (finite, at most 0, within the bound; classes in range, unique per row) before it is made dense.
                if (WireCodec.DecodeTopK(frame.Values.Span, frame.Indices.Span, batch, s.Classes, s.TopK, s.TopKRest, s.MaxAbsLogit, out values) is { } problem)
                {
                    return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} {problem}");
                }
            }
            else if (frame.Topk != 0 || frame.TopkRest != TopKRest.Unspecified || !frame.Indices.IsEmpty)
            {
                return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} is {frame.Dtype} but carries top-k fields (topk, topk_rest or indices)");
            }
            else if (stream is null && frame.Values.IsEmpty && frame.LocalValues is { } local)
            {
                // From a peer of this process, uncoded (fp32): the same checks on the floats.
                if (local.Length != (long)batch * s.Classes)
                {
                    return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} has {local.Length} values; expected {(long)batch * s.Classes}");
                }

                values = local;
            }
            else
            {
                var expected = (long)batch * s.Classes * WireCodec.SizeOf(frame.Dtype);
                if (frame.Values.Length != expected)
                {
                    return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} has {frame.Values.Length} bytes of values; expected {expected}");
                }

                values = WireCodec.Decode(frame.Values.Span, frame.Dtype);
            }

            // Dense frames: every value against the bound (a top-k frame's entries were; its fillers are the receiver's own).
            var bad = frame.Dtype == WireDType.Topk ? -1 : WireCodec.FirstOutside(values, s.MaxAbsLogit);
            if (bad >= 0)
            {
                var what = float.IsFinite(values[bad]) ? $"a value beyond the cohort's bound of {s.MaxAbsLogit:G3} (exchange.max_abs_logit)" : "a non-finite value";
                return Refuse(StatusCode.InvalidArgument, known, $"frame from '{frame.Sender}' of step {frame.Step} has {what} ({values[bad]}) at row {bad / s.Classes}, class {bad % s.Classes}");
            }

            // The generation and progress of the sender are what the coordinator says, never what a frame claims.
            if (Directory.Find(frame.Sender) is not { Generation: > 0 } sender)
            {
                return Refuse(StatusCode.Unavailable, known, $"frame from '{frame.Sender}' carries generation {frame.Generation}; the coordinator has not placed '{frame.Sender}' yet, as far as this worker knows");
            }

            if (frame.Generation < sender.Generation)
            {
                return Refuse(StatusCode.FailedPrecondition, known, $"frame from '{frame.Sender}' carries generation {frame.Generation}, superseded by generation {sender.Generation}");
            }

            if (frame.Generation > sender.Generation)
            {
                // Either the coordinator's news of a re-activation has not reached this worker yet
                // (the sender comes back with the frame shortly), or the frame lies.
                return Refuse(StatusCode.Unavailable, known, $"frame from '{frame.Sender}' carries generation {frame.Generation}; the coordinator's current generation of '{frame.Sender}' is {sender.Generation}");
            }

            if (frame.Step < inbox.Current - s.MaxStaleness)
            {
                return Refuse(StatusCode.OutOfRange, known, $"frame from '{frame.Sender}' has step {frame.Step}, behind '{frame.Receiver}', which is at step {inbox.Current}") with { Behind = true };
            }

            if (frame.Step > inbox.Current + s.Window)
            {
                return Refuse(StatusCode.OutOfRange, known, $"frame from '{frame.Sender}' has step {frame.Step}, more than {s.Window} steps ahead of '{frame.Receiver}' (step {inbox.Current})");
            }

            var highest = inbox.Highest(frame.Sender, frame.Generation);
            if (frame.Step <= highest)
            {
                return Refuse(StatusCode.AlreadyExists, highest, $"frame from '{frame.Sender}' has step {frame.Step}; its logits of that step (generation {frame.Generation}) were taken already") with { Behind = true };
            }

            // A stream that carried this sender's frames in sequence goes on being believed (a genuine
            // sender skips steps only when frames were dropped on its way here); any other stream must
            // continue the sequence, or stay within the progress the coordinator last saw.
            var trusted = stream is null || inbox.IsTrusted(frame.Sender, frame.Generation, stream);
            var reached = Math.Max(s.FrameAfter(highest), sender.Step);
            if (!trusted && frame.Step > reached)
            {
                return Refuse(StatusCode.OutOfRange, highest, $"frame from '{frame.Sender}' has step {frame.Step}, ahead of its progress: its next step is {s.FrameAfter(highest)} and the coordinator last saw it complete {sender.Step} steps");
            }

            // Only a frame that passed every check is kept: a refused one leaves no trace.
            inbox.Keep(frame.Sender, frame.Generation, frame.Step, new KeptFrame(values, TraceContext.Parse(frame.TraceParent)), stream);
            Monitor.PulseAll(_gate);
            var credit = (int)Math.Max(0, inbox.Current + s.Window - frame.Step);
            return new FrameVerdict(true, StatusCode.OK, string.Empty, frame.Step, credit);
        }
    }

    private static FrameVerdict Refuse(StatusCode code, long highest, string reason) => new(false, code, reason, highest);

    private void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// The logits waiting for one hosted peer, by teacher and step, and for each teacher the
    /// generation they came from and the highest step accepted of it.
    /// </summary>
    private sealed class Inbox(string peer, ulong generation, HashSet<string> teachers, long current)
    {
        private readonly Dictionary<string, SortedDictionary<long, KeptFrame>> _frames = new(StringComparer.Ordinal);
        // Per teacher, its last accepted frame: generation, step, and the stream it came on (null: from this worker).
        private readonly Dictionary<string, (ulong Generation, long Step, object? Stream)> _last = new(StringComparer.Ordinal);

        public string Peer { get; } = peer;

        public ulong Generation { get; } = generation;

        public HashSet<string> Teachers { get; } = teachers;

        /// <summary>The step this peer gathers next; older frames are of no use to it.</summary>
        public long Current { get; private set; } = current;

        /// <summary>What a gather of this peer waits for now; null when none waits.</summary>
        public GatherWait? Wait { get; set; }

        /// <summary>
        /// How long this peer's own steps take, waits left out (from the end of one gather to the
        /// start of the next, smoothed); null before it has completed two. What a teacher that
        /// catches up (and waits for no one) may be expected to take a step, about.
        /// </summary>
        public TimeSpan? StepTime { get; private set; }

        private long _gatherEnded;
        private readonly HashSet<(string Teacher, ulong Generation)> _gaveUp = [];

        /// <summary>Whether a gather waited half the step timeout for <paramref name="teacher"/>'s <paramref name="generation"/> while it was behind, in vain.</summary>
        public bool GaveUpOn(string teacher, ulong generation) => _gaveUp.Contains((teacher, generation));

        /// <summary>Notes that a teacher behind did not catch up as expected: it is not waited for again while behind.</summary>
        public void GiveUpOn(string teacher, ulong generation) => _gaveUp.Add((teacher, generation));

        /// <summary>Notes the start of a gather (the end of the peer's step before it).</summary>
        public void GatherStarted(long timestamp)
        {
            if (_gatherEnded != 0)
            {
                var took = System.Diagnostics.Stopwatch.GetElapsedTime(_gatherEnded, timestamp);
                StepTime = StepTime is { } before ? (before * 0.8) + (took * 0.2) : took;
            }
        }

        /// <summary>Notes the end of a gather (the peer computes its next step from now).</summary>
        public void GatherEnded(long timestamp) => _gatherEnded = timestamp;

        /// <summary>The highest step accepted from <paramref name="teacher"/> (-1: none).</summary>
        public long Highest(string teacher) => _last.TryGetValue(teacher, out var last) ? last.Step : -1;

        /// <summary>The highest step accepted from <paramref name="teacher"/> in <paramref name="generation"/> (-1: none).</summary>
        public long Highest(string teacher, ulong generation) => _last.TryGetValue(teacher, out var last) && last.Generation == generation ? last.Step : -1;

        /// <summary>Whether <paramref name="stream"/> is the one that carried <paramref name="teacher"/>'s last accepted frame of <paramref name="generation"/>.</summary>
        public bool IsTrusted(string teacher, ulong generation, object stream) =>
            _last.TryGetValue(teacher, out var last) && last.Generation == generation && ReferenceEquals(last.Stream, stream);

        /// <summary>Keeps a checked frame (the stream it came on is believed from now on); a newer generation's frames replace an older one's.</summary>
        public void Keep(string teacher, ulong generation, long step, KeptFrame values, object? stream)
        {
            if (!_frames.TryGetValue(teacher, out var byStep))
            {
                _frames[teacher] = byStep = [];
            }

            byStep[step] = values;
            _last[teacher] = (generation, step, stream);
        }

        public bool TryGet(string teacher, long step, out KeptFrame values)
        {
            values = default;
            if (_frames.TryGetValue(teacher, out var byStep) && byStep.TryGetValue(step, out var found))
            {
                values = found;
                return true;
            }

            return false;
        }

        /// <summary>Moves to <paramref name="step"/>, keeping frames at most <paramref name="keep"/> steps older.</summary>
        public void Advance(long step, int keep)
        {
            Current = Math.Max(Current, step);
            foreach (var byStep in _frames.Values)
            {
                while (byStep.Count > 0 && byStep.Keys.First() < Current - keep)
                {
                    byStep.Remove(byStep.Keys.First());
                }
            }
        }
    }
}
