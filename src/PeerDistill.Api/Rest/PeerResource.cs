namespace PeerDistill.Api.Rest;

/// <summary>One peer of a run, as the REST API returns it.</summary>
/// <param name="Name">The peer's name within the cohort.</param>
/// <param name="Model">The model its spec names.</param>
/// <param name="Device">The device its spec asks for (<c>cpu</c>, <c>cuda:N</c>).</param>
/// <param name="State">Where it stands.</param>
/// <param name="Generation">Its current activation (1 for the first, +1 per re-activation); 0 before it was placed.</param>
/// <param name="Worker">The worker hosting its current or last generation; null before it was placed.</param>
/// <param name="WorkerSilo">That worker's silo (Orleans address); null before it was placed.</param>
/// <param name="Step">Steps completed, as last reported.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="LastLoss">The loss of its latest reported step; null before one.</param>
/// <param name="Accuracy">Its latest evaluation accuracy; null before one.</param>
/// <param name="LastCheckpointStep">The step of its newest known checkpoint; null if none.</param>
/// <param name="Message">What a person should know of its state (why it failed, what it waits for).</param>
/// <param name="StepMs">The mean wall time of its steps over its latest report, in milliseconds; null before one.</param>
/// <param name="ExchangeWaitMs">The mean time those steps waited for teachers, in milliseconds; null when none gathered.</param>
public sealed record PeerResource(
    string Name,
    string Model,
    string Device,
    PeerStateJson State,
    ulong Generation,
    string? Worker,
    string? WorkerSilo,
    long Step,
    long TotalSteps,
    double? LastLoss,
    double? Accuracy,
    long? LastCheckpointStep,
    string Message,
    double? StepMs,
    double? ExchangeWaitMs);
