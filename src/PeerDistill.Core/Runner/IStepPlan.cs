namespace PeerDistill.Core.Runner;

/// <summary>
/// What one peer does at each global step index: the seam between the step loop and the data
/// layout of a strategy. Deep mutual learning runs every index on the shared batch order
/// (<see cref="EveryStepPlan"/>); a federated peer runs public and private steps of its rounds
/// and skips the rest (<see cref="FederatedStepPlan"/>). Indices keep one meaning across peers,
/// so the exchange, checkpoints and resumes work on them alike.
/// </summary>
public interface IStepPlan
{
    /// <summary>Global step indices of the run; the loop ends at this index.</summary>
    long TotalSteps { get; }

    /// <summary>The first index at or after <paramref name="step"/> this peer runs; <see cref="TotalSteps"/> when none is left.</summary>
    long NextAtOrAfter(long step);

    /// <summary>What to do at <paramref name="step"/> (an index this peer runs).</summary>
    PlannedStep At(long step);

    /// <summary>The last index in (<paramref name="after"/>, <paramref name="upTo"/>] at which an epoch (a round) ends, as completed steps; null when none.</summary>
    long? LastEpochEndIn(long after, long upTo);

    /// <summary>The epochs (rounds) completed after <paramref name="completedSteps"/> steps.</summary>
    int EpochAfter(long completedSteps);
}
