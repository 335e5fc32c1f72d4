using PeerDistill.Core.Spec;

namespace PeerDistill.Api;

/// <summary>A cohort API call refused; the message names what was wrong and where.</summary>
public sealed class CohortApiException(ApiError error, string message) : Exception(message)
{
    public ApiError Error { get; } = error;

    /// <summary>Each problem of a refused spec, with its field path and line; empty for other refusals.</summary>
    public IReadOnlyList<SpecError> SpecErrors { get; init; } = [];
}
