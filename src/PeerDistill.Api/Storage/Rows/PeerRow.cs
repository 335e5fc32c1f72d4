namespace PeerDistill.Api.Storage;

/// <summary>A peer of a run as stored: where it runs now and how far it got.</summary>
/// <param name="Peer">The peer's name within the cohort.</param>
/// <param name="State">Its state, as the caller names peer states.</param>
/// <param name="Device">The device its spec asks for.</param>
/// <param name="Worker">The worker hosting its current generation; null before placement.</param>
/// <param name="Silo">That worker's silo; null before placement.</param>
/// <param name="Generation">Its current activation (0 before placement).</param>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">Its latest step's loss.</param>
/// <param name="Accuracy">Its latest evaluation accuracy.</param>
/// <param name="Updated">When this row was last written.</param>
internal sealed record PeerRow(
    string Peer,
    string State,
    string Device,
    string? Worker,
    string? Silo,
    long Generation,
    long Step,
    long TotalSteps,
    double? Loss,
    double? Accuracy,
    DateTimeOffset Updated);
