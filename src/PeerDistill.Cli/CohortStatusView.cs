using System.Globalization;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli;

/// <summary>
/// Draws a distributed cohort's status for a person: one line per peer (worker, generation,
/// step/total, loss, accuracy, state) and the latest events; redrawn in place on a terminal,
/// printed as plain blocks (at most every 15 s, and on every state change) otherwise.
/// </summary>
internal sealed class CohortStatusView(TextWriter output, bool interactive)
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(15);
    private int _drawnLines;
    private DateTime _lastPrint = DateTime.MinValue;
    private string _lastStates = string.Empty;
    private int _eventsShown;

    public void Draw(CohortStatus status)
    {
        var lines = Render(status);
        if (interactive)
        {
            if (_drawnLines > 0)
            {
                output.Write($"\x1b[{_drawnLines}F\x1b[J");
            }

            foreach (var line in lines)
            {
                output.WriteLine(line);
            }

            _drawnLines = lines.Count;
            return;
        }

        var states = status.State + ":" + string.Join(",", status.Peers.Select(p => $"{p.Peer}={p.State}/{p.Generation}"));
        if (states != _lastStates || DateTime.UtcNow - _lastPrint >= LogEvery || status.Events.Count != _eventsShown)
        {
            foreach (var line in lines)
            {
                output.WriteLine(line);
            }

            _lastPrint = DateTime.UtcNow;
            _lastStates = states;
            _eventsShown = status.Events.Count;
        }
    }

    public static List<string> Render(CohortStatus status)
    {
        var lines = new List<string>
        {
            $"cohort {status.Cohort}  run {status.Run}  {Name(status.State)}",
            string.Create(CultureInfo.InvariantCulture, $"  {"peer",-14} {"worker",-28} {"gen",3} {"step",13} {"loss",8} {"acc",7}  state"),
        };
        foreach (var p in status.Peers)
        {
            var loss = p.HasLastLoss ? p.LastLoss.ToString("F4", CultureInfo.InvariantCulture) : "-";
            var accuracy = p.HasAccuracy ? p.Accuracy.ToString("F4", CultureInfo.InvariantCulture) : "-";
            var steps = $"{p.Step}/{p.TotalSteps}";
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"  {p.Peer,-14} {Worker(p),-28} {p.Generation,3} {steps,13} {loss,8} {accuracy,7}  {Name(p.State)}{(string.IsNullOrEmpty(p.Message) ? string.Empty : "  " + p.Message)}"));
        }

        foreach (var e in status.Events.TakeLast(5))
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(e.UnixMillis).UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
            lines.Add($"  {at} {e.Kind}{(string.IsNullOrEmpty(e.Peer) ? string.Empty : " " + e.Peer)}: {e.Message}");
        }

        return lines;
    }

    /// <summary>The worker of a peer and the address of its process (<c>w1@127.0.0.1:36311</c>), or "-".</summary>
    private static string Worker(PeerStatus p)
    {
        if (string.IsNullOrEmpty(p.WorkerId))
        {
            return "-";
        }

        var at = p.WorkerSilo.IndexOf('@', StringComparison.Ordinal);
        return p.WorkerSilo.Length == 0 ? p.WorkerId : $"{p.WorkerId}@{(at > 0 ? p.WorkerSilo[..at] : p.WorkerSilo)}";
    }

    public static bool IsFinished(CohortState state) => state is CohortState.Completed or CohortState.Failed or CohortState.Cancelled;

    public static string Name(CohortState state) => state.ToString().ToLowerInvariant();

    public static string Name(PeerState state) => state.ToString().ToLowerInvariant();
}
