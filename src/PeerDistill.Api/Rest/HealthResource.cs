namespace PeerDistill.Api.Rest;

/// <summary>The coordinator's health.</summary>
/// <param name="Status"><c>serving</c> while the API and the cluster answer; <c>unavailable</c> otherwise.</param>
/// <param name="Detail">What does not answer, when something does not.</param>
public sealed record HealthResource(string Status, string? Detail);
