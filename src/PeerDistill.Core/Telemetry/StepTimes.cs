using System.Diagnostics;

namespace PeerDistill.Core.Telemetry;

/// <summary>
/// When the phases of one training step ended (Stopwatch timestamps), as the step loop marks them; a
/// phase that did not happen has the time of the one before it. Cheap enough to take at every step.
/// </summary>
internal sealed class StepTimes
{
    public long Start;
    public long Forward;
    public long Published;
    public long Gathered;
    public long Backward;
    public long Optimized;

    public void Begin()
    {
        Start = Forward = Published = Gathered = Backward = Optimized = Stopwatch.GetTimestamp();
    }

    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>The wall-clock time of <paramref name="timestamp"/>.</summary>
    public static DateTime At(long timestamp) => DateTime.UtcNow - Stopwatch.GetElapsedTime(timestamp);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Start, Optimized);

    public TimeSpan Wait => Stopwatch.GetElapsedTime(Published, Gathered);
}
