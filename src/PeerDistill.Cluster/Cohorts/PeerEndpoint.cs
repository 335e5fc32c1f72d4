namespace PeerDistill.Cluster.Cohorts;

/// <summary>Where one peer of a cohort runs and how far it is, as its cohort last heard: what the others exchange logits by.</summary>
/// <param name="Peer">Peer name.</param>
/// <param name="WorkerId">Name of the silo hosting it; empty when it runs nowhere now.</param>
/// <param name="Address">That silo's PeerExchange address; empty when it runs nowhere now.</param>
/// <param name="Generation">Its current activation generation (0 before the first).</param>
/// <param name="State">ACTIVE peers are waited for each step; PENDING and RECOVERING ones are missing; the finished ones are done.</param>
/// <param name="Step">Steps its current generation has completed, as last reported (from its placement: the step it resumes from).</param>
/// <param name="WaitingAt">The step at which it was last reported waiting for its own teachers (its logits of that step were published by then); null if it was not.</param>
[GenerateSerializer, Immutable]
public sealed record PeerEndpoint(
    [property: Id(0)] string Peer,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Address,
    [property: Id(3)] ulong Generation,
    [property: Id(4)] PeerState State,
    [property: Id(5)] long Step,
    [property: Id(6)] long? WaitingAt = null);
