namespace PeerDistill.Api.Rest;

/// <summary>The optional body of a cancellation.</summary>
/// <param name="Reason">Why the run is cancelled, for its events and logs.</param>
public sealed record CancelRequest(string? Reason);
