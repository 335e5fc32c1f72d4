namespace PeerDistill.Torch;

/// <summary>How cross-entropy and the distillation term add up.</summary>
public enum LossCombination
{
    /// <summary>(1 - alpha) * CE + alpha * KD (Hinton et al. 2015).</summary>
    Convex = 0,

    /// <summary>CE + alpha * KD; with alpha = 1 this is deep mutual learning's CE + KL.</summary>
    Additive = 1,
}
