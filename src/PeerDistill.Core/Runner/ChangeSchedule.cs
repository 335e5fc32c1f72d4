using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Runner;

/// <summary>
/// The changes of a cohort's settings that a step loop (or the loops of one process) applies, each
/// at the start of its step: those of the spec, and those announced while the loops run. Thread-safe.
/// A change may be announced only for a step no loop here has started (the answer says the furthest
/// step started otherwise), so that every peer applies it at the same step. <see cref="Hold"/> is the
/// promise a peer gives a cohort that agrees on such a step: not to start it before the cohort decides.
/// </summary>
public sealed class ChangeSchedule
{
    private readonly object _gate = new();
    private readonly StepSettings _initial;
    private readonly List<CohortChange> _changes = [];
    private long _started = -1;
    private long? _holdAt;

    /// <summary>A schedule of <paramref name="changes"/> over <paramref name="initial"/> (changes at one step apply in the order given).</summary>
    public ChangeSchedule(StepSettings initial, IEnumerable<CohortChange>? changes = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _initial = initial;
        foreach (var change in changes ?? [])
        {
            Insert(change);
        }
    }

    /// <summary>The furthest step a loop has started (-1 before the first).</summary>
    public long Started
    {
        get
        {
            lock (_gate)
            {
                return _started;
            }
        }
    }

    /// <summary>Every change known, in step order.</summary>
    public IReadOnlyList<CohortChange> Changes
    {
        get
        {
            lock (_gate)
            {
                return [.. _changes];
            }
        }
    }

    /// <summary>The settings that hold at <paramref name="step"/>.</summary>
    public StepSettings At(long step)
    {
        lock (_gate)
        {
            return SettingsAt(step);
        }
    }

    /// <summary>
    /// A loop starts <paramref name="step"/>: waits while a <see cref="Hold"/> at or before it is
    /// pending (or until <paramref name="cancellation"/>), records the step as started and returns
    /// the settings that hold at it.
    /// </summary>
    public StepSettings Begin(long step, CancellationToken cancellation = default)
    {
        using var wake = cancellation.CanBeCanceled ? cancellation.Register(Wake) : default;
        lock (_gate)
        {
            while (_holdAt is { } hold && step >= hold && !cancellation.IsCancellationRequested)
            {
                Monitor.Wait(_gate);
            }

            _started = Math.Max(_started, step);
            return SettingsAt(step);
        }
    }

    /// <summary>A loop restarts from <paramref name="step"/> (a checkpoint): it has started every step before it.</summary>
    public void StartFrom(long step)
    {
        lock (_gate)
        {
            _started = Math.Max(_started, step - 1);
        }
    }

    /// <summary>Adds a change for a step not started yet; refused (with the furthest step started) otherwise.</summary>
    public ScheduleAnswer Announce(CohortChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            if (change.Step <= _started)
            {
                return new ScheduleAnswer(false, _started);
            }

            Insert(change);
            return new ScheduleAnswer(true, _started);
        }
    }

    /// <summary>
    /// Promises not to start <paramref name="step"/> (nor any later one) until <see cref="Release"/>:
    /// the loops run up to it and wait there. Refused (with the furthest step started) when a loop
    /// has started it already. A new hold replaces the one pending.
    /// </summary>
    public ScheduleAnswer Hold(long step)
    {
        lock (_gate)
        {
            if (step <= _started)
            {
                return new ScheduleAnswer(false, _started);
            }

            _holdAt = step;
            Monitor.PulseAll(_gate);
            return new ScheduleAnswer(true, _started);
        }
    }

    /// <summary>Ends the hold pending (if any): the loops go on.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _holdAt = null;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Adds <paramref name="change"/> (at a step not started) and ends the hold pending, at once: a change agreed on.</summary>
    public ScheduleAnswer Commit(CohortChange change)
    {
        lock (_gate)
        {
            var answer = Announce(change);
            _holdAt = null;
            Monitor.PulseAll(_gate);
            return answer;
        }
    }

    private void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    private void Insert(CohortChange change)
    {
        // After every change of an earlier or the same step: changes at one step apply in the order they came.
        var index = _changes.FindLastIndex(c => c.Step <= change.Step) + 1;
        _changes.Insert(index, change);
    }

    private StepSettings SettingsAt(long step)
    {
        var settings = _initial;
        foreach (var change in _changes)
        {
            if (change.Step > step)
            {
                break;
            }

            settings = settings.With(change);
        }

        return settings;
    }
}
