namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>distillation.federated</c>: the rounds of a federated strategy (fedmd, feddf). Every process
/// derives the same round plan from these numbers and the partition sizes (see
/// docs/federated.md).
/// </summary>
public sealed record FederatedSpec
{
    /// <summary><c>rounds</c>: communication rounds.</summary>
    public int Rounds { get; init; } = 10;

    /// <summary><c>public_batches</c>: public batches per round on which logits are exchanged (and distilled).</summary>
    public int PublicBatches { get; init; } = 10;

    /// <summary><c>local_epochs</c>: passes over its private partition each participant trains per round (FedMD's revisit, FedDF's local training).</summary>
    public int LocalEpochs { get; init; } = 1;

    /// <summary><c>public_warmup_steps</c>: fedmd only: steps of cross-entropy on labelled public batches before the first round (FedMD's transfer learning).</summary>
    public long PublicWarmupSteps { get; init; }
}
