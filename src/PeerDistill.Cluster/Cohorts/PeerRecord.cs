namespace PeerDistill.Cluster.Cohorts;

/// <summary>One peer of a cohort run, as its cohort knows it (part of <see cref="CohortRecord"/>, the cohort grain's state).</summary>
[GenerateSerializer]
public sealed class PeerRecord
{
    /// <summary>Name of the peer within the cohort.</summary>
    [Id(0)] public string Name { get; set; } = string.Empty;

    /// <summary>Model the spec names (for summaries).</summary>
    [Id(1)] public string Model { get; set; } = string.Empty;

    /// <summary>Device the spec asks for: <c>cpu</c> or <c>cuda:N</c>; placement matches it to a slot that has it.</summary>
    [Id(2)] public string Device { get; set; } = "cpu";

    [Id(3)] public PeerState State { get; set; } = PeerState.Pending;

    /// <summary>The generation of the current (or next) activation: 1 for the first, +1 for every re-activation.</summary>
    [Id(4)] public ulong Generation { get; set; } = 1;

    /// <summary>Whether the current generation runs on a slot (<see cref="Silo"/>, <see cref="SlotIndex"/>).</summary>
    [Id(5)] public bool Placed { get; set; }

    /// <summary>Whether any generation was ever placed (the run is pending until all its peers were).</summary>
    [Id(6)] public bool EverPlaced { get; set; }

    /// <summary>The silo (Orleans address, parsable form) hosting the current or last generation.</summary>
    [Id(7)] public string? Silo { get; set; }

    /// <summary>That silo's name (the worker id users see).</summary>
    [Id(8)] public string? WorkerId { get; set; }

    /// <summary>The address of that silo's PeerExchange service.</summary>
    [Id(9)] public string? Address { get; set; }

    [Id(10)] public int SlotIndex { get; set; } = -1;

    /// <summary>The checkpoint step the current generation resumes from; null for a fresh start.</summary>
    [Id(11)] public long? ResumeFromStep { get; set; }

    /// <summary>A worker the next placement avoids (the one whose shutdown interrupted this peer).</summary>
    [Id(12)] public string? AvoidWorkerId { get; set; }

    /// <summary>Steps completed, as last reported.</summary>
    [Id(13)] public long Step { get; set; }

    [Id(14)] public long TotalSteps { get; set; }

    [Id(15)] public double? LastLoss { get; set; }

    [Id(16)] public double? Accuracy { get; set; }

    [Id(17)] public string Message { get; set; } = string.Empty;

    /// <summary>Steps completed by the newest checkpoint known of the peer (reported on the way out, or found on disk); null if none.</summary>
    [Id(18)] public long? LastCheckpointStep { get; set; }

    /// <summary>The step at which its current generation was last reported waiting for its teachers; null when it was not.</summary>
    [Id(19)] public long? WaitingAt { get; set; }

    /// <summary>Whether its next generation resumes a paused run: it waits until every teacher is placed before its first step, as a fresh start does.</summary>
    [Id(20)] public bool AfterPause { get; set; }

    /// <summary>The mean step time of its latest report, in seconds; null before one.</summary>
    [Id(21)] public double? StepSeconds { get; set; }

    /// <summary>The mean time those steps waited for teachers, in seconds; null when none gathered.</summary>
    [Id(22)] public double? ExchangeWaitSeconds { get; set; }

    public bool IsFinished => States.IsFinished(State);

    /// <summary>Whether the peer occupies a slot now.</summary>
    public bool HoldsSlot => Placed && !IsFinished;
}
