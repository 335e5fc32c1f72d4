namespace PeerDistill.Torch;

/// <summary>
/// The loss of one step: the total (with autograd history, to call Backward on) and its named terms
/// as detached scalars for reporting.
/// </summary>
public sealed class LossTerms : IDisposable
{
    internal LossTerms(Tensor total, Tensor crossEntropy, Tensor distillation)
    {
        Total = total;
        CrossEntropy = crossEntropy;
        Distillation = distillation;
    }

    public Tensor Total { get; }

    public Tensor CrossEntropy { get; }

    /// <summary>The temperature-scaled KL term (T^2 included), zero when there was no teacher.</summary>
    public Tensor Distillation { get; }

    public void Dispose()
    {
        Total.Dispose();
        CrossEntropy.Dispose();
        Distillation.Dispose();
    }
}
