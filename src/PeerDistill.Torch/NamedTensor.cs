namespace PeerDistill.Torch;

/// <summary>One entry of a model's state: a parameter or a buffer, by its dotted name.</summary>
public sealed record NamedTensor(string Name, bool IsParameter, Tensor Tensor) : IDisposable
{
    public void Dispose() => Tensor.Dispose();
}
