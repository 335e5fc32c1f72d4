using System.Diagnostics;

namespace PeerDistill.Core.Telemetry;

/// <summary>
/// When the phases of one training step ended (Stopwatch timestamps), as the step loop marks them; a
/// phase that did not happen has the time of the one before it. Cheap enough to take at every step.
/// </summary>
internal sealed class StepTimes
{
    public long Start;
    public DateTime StartUtc;
    public long Forward;
    public long Published;
    public long Gathered;
    public long Backward;
    public long Optimized;

    public void Begin()
    {
        StartUtc = DateTime.UtcNow;
        Start = Forward = Published = Gathered = Backward = Optimized = Stopwatch.GetTimestamp();
    }

    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>The wall-clock time of <paramref name="timestamp"/>.</summary>
    /// <remarks>From one anchor per step (its start), so that a step's spans nest exactly; before any step, from now.</remarks>
    public DateTime At(long timestamp) =>
        StartUtc == default ? DateTime.UtcNow - Stopwatch.GetElapsedTime(timestamp) : StartUtc + Stopwatch.GetElapsedTime(Start, timestamp);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Start, Optimized);

    public TimeSpan Wait => Stopwatch.GetElapsedTime(Published, Gathered);
}
