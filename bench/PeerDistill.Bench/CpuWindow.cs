using System.Globalization;
using System.Text;

namespace PeerDistill.Bench;

/// <summary>A thread group's time on a CPU and runnable but waiting for one, ms per step.</summary>
internal sealed record ThreadCpuTime(double CpuMs, double RunQueueMs);

/// <summary>
/// The CPU time of every thread of this process between two steps, from
/// /proc/self/task/*/schedstat (time on a CPU, time runnable on a run queue), by thread name with
/// digits folded ("peer-a-g1" is "peer-a-g#"). <see cref="Start"/> and <see cref="End"/> take the
/// first call each; empty where /proc is not there.
/// </summary>
internal sealed class CpuWindow
{
    private readonly object _gate = new();
    private Dictionary<int, (string Name, long Cpu, long RunQueue)>? _start;
    private Dictionary<int, (string Name, long Cpu, long RunQueue)>? _end;
    private long _startStep;
    private long _endStep;

    public bool Ended
    {
        get
        {
            lock (_gate)
            {
                return _end is not null;
            }
        }
    }

    public void Start(long step)
    {
        lock (_gate)
        {
            if (_start is null)
            {
                _start = Snapshot();
                _startStep = step;
            }
        }
    }

    public void End(long step)
    {
        lock (_gate)
        {
            if (_start is not null && _end is null)
            {
                _end = Snapshot();
                _endStep = step;
            }
        }
    }

    /// <summary>ms per step by thread name over the window (threads that started inside it count from zero).</summary>
    public IReadOnlyDictionary<string, ThreadCpuTime> PerStep()
    {
        lock (_gate)
        {
            if (_start is null || _end is null || _endStep <= _startStep)
            {
                return new Dictionary<string, ThreadCpuTime>(StringComparer.Ordinal);
            }

            double n = _endStep - _startStep;
            var start = _start;
            return _end
                .Select(kv => (kv.Value.Name, Cpu: kv.Value.Cpu - (start.TryGetValue(kv.Key, out var s) ? s.Cpu : 0), RunQueue: kv.Value.RunQueue - (start.TryGetValue(kv.Key, out var q) ? q.RunQueue : 0)))
                .GroupBy(t => t.Name, StringComparer.Ordinal)
                .ToDictionary(grp => grp.Key, grp => new ThreadCpuTime(grp.Sum(t => t.Cpu) / 1e6 / n, grp.Sum(t => t.RunQueue) / 1e6 / n), StringComparer.Ordinal);
        }
    }

    private static Dictionary<int, (string Name, long Cpu, long RunQueue)> Snapshot()
    {
        var result = new Dictionary<int, (string, long, long)>();
        if (!Directory.Exists("/proc/self/task"))
        {
            return result;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var tid = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                var fields = File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                result[tid] = (Fold(name), long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The thread ended meanwhile.
            }
        }

        return result;
    }

    private static string Fold(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c))
            {
                text.Append(c);
            }
            else if (text.Length == 0 || text[^1] != '#')
            {
                text.Append('#');
            }
        }

        return text.ToString();
    }
}
