using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Runner;

/// <summary>One step of one peer, as its <see cref="IStepPlan"/> says.</summary>
/// <param name="Sampler">The batch order the batch comes from (the shared one, the public split's, or the peer's own partition's).</param>
/// <param name="Builder">The builder of batches of that data set.</param>
/// <param name="SamplerEpoch">The epoch of the batch in <paramref name="Sampler"/>.</param>
/// <param name="BatchIndex">The batch within that epoch.</param>
/// <param name="Epoch">The epoch (or round) the step record reports.</param>
/// <param name="Publish">Publish this step's logits (when anyone learns from the peer).</param>
/// <param name="Gather">Gather the teachers' logits of this step.</param>
/// <param name="IncludeSelf">Hand the strategy this peer's own published logits too (FedMD's consensus is the mean over every participant).</param>
/// <param name="Train">Back-propagate and step the optimizer; false: only compute (in evaluation mode) and publish the logits, and wait for the gather.</param>
public sealed record PlannedStep(
    BatchSampler Sampler,
    BatchBuilder Builder,
    int SamplerEpoch,
    int BatchIndex,
    int Epoch,
    bool Publish,
    bool Gather,
    bool IncludeSelf,
    bool Train);
