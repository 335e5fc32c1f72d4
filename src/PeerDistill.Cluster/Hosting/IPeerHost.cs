using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Hosting;

/// <summary>The silo-local side of peer grains: the peers this process trains, each on its own thread, and their exchange.</summary>
public interface IPeerHost
{
    /// <summary>The address of this silo's PeerExchange service (what the other peers send logits to).</summary>
    string ExchangeAddress { get; }

    /// <summary>Starts a peer in <paramref name="slot"/>; <see cref="PeerStartException"/> says why it cannot (its spec, its directories, the slot).</summary>
    void Start(PeerAssignment assignment, SlotDescriptor slot);

    /// <summary>Stops that generation of the peer and waits (at most <paramref name="timeout"/>) until it has.</summary>
    Task<PeerStopped> StopAsync(string cohort, string run, string peer, ulong generation, bool checkpoint, string reason, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>What the hosted generation of the peer did so far; null if this process does not host it.</summary>
    PeerReport? Report(string cohort, string run, string peer, string silo);

    /// <summary>Applies the cohort's view of where the run's peers are.</summary>
    void UpdatePeers(string cohort, string run, IReadOnlyList<PeerEndpoint> peers);

    /// <summary>Forgets an ended generation of the peer (its end was reported); the run is closed when none of its peers is left.</summary>
    ValueTask ForgetAsync(string cohort, string run, string peer, ulong generation);
}
