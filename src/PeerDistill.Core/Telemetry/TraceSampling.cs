namespace PeerDistill.Core.Telemetry;

/// <summary>
/// Which training steps the step loop traces (when anything listens to <see cref="TelemetryNames.Runner"/>):
/// every <see cref="EverySteps"/>th step, decided before it runs, the same steps on every peer; and
/// every step slower than <see cref="SlowerThanMs"/>, decided when it ended.
/// </summary>
/// <param name="EverySteps">Trace steps whose index is a multiple of it; 0 = none.</param>
/// <param name="SlowerThanMs">Trace steps that took longer; 0 = none.</param>
public sealed record TraceSampling(long EverySteps, double SlowerThanMs)
{
    /// <summary>Default of <see cref="EverySteps"/>: one step in a hundred.</summary>
    public const long DefaultEverySteps = 100;

    /// <summary>Default of <see cref="SlowerThanMs"/>: steps over a second.</summary>
    public const double DefaultSlowerThanMs = 1000;

    /// <summary>The defaults.</summary>
    public static readonly TraceSampling Default = new(DefaultEverySteps, DefaultSlowerThanMs);

    /// <summary>These settings with what <paramref name="spec"/> sets instead.</summary>
    public TraceSampling With(Spec.TracingSpec? spec) =>
        spec is null ? this : new(spec.EverySteps ?? EverySteps, spec.SlowerThanMs ?? SlowerThanMs);

    /// <summary>Whether step <paramref name="step"/> is traced whatever its time.</summary>
    public bool Every(long step) => EverySteps > 0 && step % EverySteps == 0;

    /// <summary>Whether a step that took <paramref name="elapsed"/> is traced for its time.</summary>
    public bool Slow(TimeSpan elapsed) => SlowerThanMs > 0 && elapsed.TotalMilliseconds > SlowerThanMs;
}
