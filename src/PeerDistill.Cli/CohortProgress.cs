using System.Globalization;
using PeerDistill.Core.Runner;

namespace PeerDistill.Cli;

/// <summary>
/// Live progress of a cohort for a person: on a terminal, one line per peer (step/total, loss, CE,
/// KD, samples/s, ETA) redrawn in place; otherwise (CI, files) plain lines every 15 seconds.
/// Evaluations and events (failures, checkpoints on interrupt) are printed as they happen.
/// </summary>
internal sealed class CohortProgress : ICohortObserver
{
    private static readonly TimeSpan TerminalEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(15);
    private readonly object _gate = new();
    private readonly TextWriter _out;
    private readonly bool _interactive;
    private readonly long _totalSteps;
    private readonly int _batchSize;
    private readonly Dictionary<string, StepRecord> _latest = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();
    private DateTime _lastDraw = DateTime.MinValue;
    private int _drawnLines;

    public CohortProgress(TextWriter output, long totalSteps, int batchSize, bool interactive)
    {
        _out = output;
        _totalSteps = totalSteps;
        _batchSize = batchSize;
        _interactive = interactive;
    }

    public void OnStep(StepRecord record)
    {
        lock (_gate)
        {
            var key = $"{record.Run}/{record.Peer}";
            if (!_latest.ContainsKey(key))
            {
                _order.Add(key);
            }

            _latest[key] = record;
            var now = DateTime.UtcNow;
            var last = record.Step + 1 == _totalSteps;
            if (now - _lastDraw >= (_interactive ? TerminalEvery : LogEvery) || (last && _interactive))
            {
                _lastDraw = now;
                Draw();
            }
        }
    }

    public void OnEvaluation(EvalRecord record)
    {
        Print(string.Create(CultureInfo.InvariantCulture,
            $"[{record.Run}] {record.Peer}: {(record.Final ? "final " : string.Empty)}{record.Split} accuracy {record.Accuracy:F4}, loss {record.Loss:F4} (step {record.Step}, epoch {record.Epoch})"));
    }

    public void OnEvent(PeerEvent record)
    {
        if (record.Kind is "checkpoint")
        {
            return;
        }

        if (record.Kind is "finished" or "failed" or "interrupted")
        {
            lock (_gate)
            {
                // A peer that left is no longer drawn; its last state is in the line printed below.
                Clear();
                var key = $"{record.Run}/{record.Peer}";
                _latest.Remove(key);
                _order.Remove(key);
            }
        }

        Print($"[{record.Run}] {record.Peer}: {record.Kind} at step {record.Step}: {record.Message}");
    }

    /// <summary>Leaves the live block in place (before the summary is printed).</summary>
    public void Finish()
    {
        lock (_gate)
        {
            Draw();
            _drawnLines = 0;
        }
    }

    private void Print(string line)
    {
        lock (_gate)
        {
            Clear();
            _out.WriteLine(line);
            if (_interactive)
            {
                Draw();
            }
        }
    }

    private void Clear()
    {
        if (_interactive && _drawnLines > 0)
        {
            _out.Write($"\u001b[{_drawnLines}A\u001b[J");
            _drawnLines = 0;
        }
    }

    private void Draw()
    {
        if (_latest.Count == 0)
        {
            return;
        }

        Clear();
        foreach (var key in _order)
        {
            var r = _latest[key];
            var remaining = r.SamplesPerSecond > 0 ? TimeSpan.FromSeconds((_totalSteps - r.Step - 1) * (double)_batchSize / r.SamplesPerSecond) : TimeSpan.Zero;
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{r.Run}] {r.Peer,-12} step {r.Step + 1,6}/{_totalSteps}  epoch {r.Epoch + 1}  loss {r.Loss:F4}  CE {r.CrossEntropy:F4}  KD {r.Distillation:F4}  {r.SamplesPerSecond,6:F0} samples/s  ETA {remaining:hh\\:mm\\:ss}"));
        }

        _drawnLines = _interactive ? _order.Count : 0;
    }
}
