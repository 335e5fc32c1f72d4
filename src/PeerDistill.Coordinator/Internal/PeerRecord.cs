using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Internal;

/// <summary>One peer of a cohort run, as the coordinator knows it (guarded by the state's lock).</summary>
internal sealed class PeerRecord
{
    public PeerRecord(string name, string model)
    {
        Name = name;
        Model = model;
    }

    public string Name { get; }

    public string Model { get; }

    public PeerState State { get; set; } = PeerState.Pending;

    /// <summary>The generation of the current (or next) activation: 1 for the first, +1 for every reactivation.</summary>
    public ulong Generation { get; set; } = 1;

    /// <summary>Whether the current generation holds a slot (<see cref="WorkerId"/>, <see cref="SlotIndex"/>).</summary>
    public bool Placed { get; set; }

    /// <summary>Whether any generation was ever placed (the run is pending until all its peers were).</summary>
    public bool EverPlaced { get; set; }

    /// <summary>The worker that hosts (or last hosted) the peer.</summary>
    public string? WorkerId { get; set; }

    /// <summary>That worker's address when the peer was placed there.</summary>
    public string? Address { get; set; }

    public int SlotIndex { get; set; } = -1;

    /// <summary>Whether the worker reported the current generation (its assignment is no longer repeated).</summary>
    public bool Acknowledged { get; set; }

    /// <summary>The checkpoint step the current generation resumes from; null for a fresh start.</summary>
    public long? ResumeFromStep { get; set; }

    /// <summary>A worker the next placement must avoid (the one that interrupted this peer), until it registers again.</summary>
    public string? AvoidWorkerId { get; set; }

    public long Step { get; set; }

    public long TotalSteps { get; set; }

    public double? LastLoss { get; set; }

    public double? Accuracy { get; set; }

    public string Message { get; set; } = string.Empty;

    public bool IsFinished => PeerStates.IsFinished(State);

    /// <summary>Whether the peer occupies its slot now.</summary>
    public bool HoldsSlot => Placed && !IsFinished;
}
