namespace PeerDistill.Core.Spec;

/// <summary>
/// One experiment: a cohort of peers, how they distil into each other, the data, evaluation and
/// checkpoints. Read from YAML or JSON by <see cref="SpecLoader"/>; field names there are snake_case
/// (<c>cohort</c>, <c>peers</c>, <c>distillation</c>, <c>data</c>, <c>evaluation</c>, <c>checkpoints</c>, <c>exchange</c>, <c>output</c>).
/// </summary>
public sealed record CohortSpec
{
    /// <summary>Cohort name (<c>cohort</c>): letters, digits, '-', '_' and '.'.</summary>
    public required string Cohort { get; init; }

    /// <summary>The peers (<c>peers</c>), at least one; names unique.</summary>
    public required IReadOnlyList<PeerSpec> Peers { get; init; }

    public DistillationSpec Distillation { get; init; } = new();

    public required DataSpec Data { get; init; }

    public EvaluationSpec Evaluation { get; init; } = new();

    public CheckpointSpec Checkpoints { get; init; } = new();

    /// <summary><c>tracing</c>: which steps are traced; null: the process's defaults.</summary>
    public TracingSpec? Tracing { get; init; }

    public ExchangeSpec Exchange { get; init; } = new();

    /// <summary>
    /// <c>changes</c>: changes of the settings from a step on (distillation alpha, its warm-up and
    /// temperature, a learning-rate scale, evaluation and checkpoint cadence), in step order; every
    /// peer applies each at the start of its step.
    /// </summary>
    public IReadOnlyList<CohortChange> Changes { get; init; } = [];

    /// <summary>Output directory (<c>output</c>); relative paths are resolved against the working directory. Default runs/&lt;cohort&gt;.</summary>
    public string? Output { get; init; }

    /// <summary>The file the spec was read from, for messages; null when built in code.</summary>
    public string? SourcePath { get; init; }
}
