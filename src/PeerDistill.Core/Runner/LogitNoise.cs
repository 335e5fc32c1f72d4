using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// Gaussian noise on published logits (<c>distillation.logit_noise_sigma</c>): logits + sigma * N(0, 1),
/// drawn from a generator seeded by (the peer's seed, the step), so that embedded and distributed
/// runs publish the same values. A privacy knob that blurs what a participant reveals on the public
/// split; not a guarantee (no clipping, no privacy accounting).
/// </summary>
public sealed class LogitNoise(double sigma, long peerSeed)
{
    public double Sigma { get; } = sigma;

    /// <summary>The logits to publish: <paramref name="logits"/> itself when sigma is 0, else a noisy copy (the caller keeps ownership of <paramref name="logits"/>).</summary>
    public Tensor Apply(Tensor logits, long step)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (Sigma <= 0)
        {
            return logits.Detach();
        }

        using var unit = Tensor.Randn(Torch.Data.DeterministicRandom.Mix(peerSeed, step, 0x6e6f697365), logits.Shape);
        using var onDevice = logits.Device == "cpu" ? unit.Detach() : unit.To(logits.Device);
        using var scaled = onDevice.Mul(Sigma);
        using var detached = logits.Detach();
        return detached.Add(scaled);
    }
}
