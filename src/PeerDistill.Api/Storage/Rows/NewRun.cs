namespace PeerDistill.Api.Storage;

/// <summary>A run to insert.</summary>
/// <param name="Cohort">The cohort's name.</param>
/// <param name="Run">The run's id (unique within the cohort).</param>
/// <param name="State">Its first state.</param>
/// <param name="SpecText">The spec as submitted.</param>
/// <param name="SpecFormat">The spec's format.</param>
/// <param name="Created">When it was submitted.</param>
/// <param name="IdempotencyKey">The client's key for this create (unique per cohort), or null.</param>
/// <param name="RequestHash">A hash of the create request, so that a key reused for another request is told apart from a retry; required with a key.</param>
internal sealed record NewRun(
    string Cohort,
    string Run,
    string State,
    string SpecText,
    string SpecFormat,
    DateTimeOffset Created,
    string? IdempotencyKey = null,
    string? RequestHash = null);
