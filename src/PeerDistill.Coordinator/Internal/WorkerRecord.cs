using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Internal;

/// <summary>A registered worker, as the coordinator knows it (guarded by the state's lock).</summary>
internal sealed class WorkerRecord
{
    public WorkerRecord(string id, string address, IReadOnlyList<Slot> slots, DateTimeOffset registered, DateTimeOffset leaseExpiry)
    {
        Id = id;
        Address = address;
        Slots = slots;
        Registered = registered;
        LastHeartbeat = registered;
        LeaseExpiry = leaseExpiry;
    }

    public string Id { get; }

    /// <summary>host:port of its PeerExchange and WorkerControl services.</summary>
    public string Address { get; }

    /// <summary>Its slots, by index.</summary>
    public IReadOnlyList<Slot> Slots { get; }

    public DateTimeOffset Registered { get; }

    public DateTimeOffset LastHeartbeat { get; set; }

    /// <summary>Without a heartbeat by then, the worker is lost.</summary>
    public DateTimeOffset LeaseExpiry { get; set; }

    /// <summary>Peers to put into the <c>stop</c> of its next heartbeat reply.</summary>
    public List<PeerRef> PendingStops { get; } = [];

    public bool IsAlive(DateTimeOffset now) => now < LeaseExpiry;
}
