namespace PeerDistill.Torch;

/// <summary>Optimizers the engine provides (codes shared with the shim).</summary>
public enum OptimizerKind
{
    Sgd = 0,
    Adam = 1,
    AdamW = 2,
}
