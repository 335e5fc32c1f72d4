using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>
/// What a training step changes in a model besides its parameters (batch-norm statistics, the
/// random stream), captured by <see cref="Model.CaptureStepState"/> so that an abandoned step can be
/// undone with <see cref="Model.RestoreStepState"/>.
/// </summary>
public sealed class ModelStepState : IDisposable
{
    internal ModelStepState(StepStateHandle handle)
    {
        Handle = handle;
    }

    internal StepStateHandle Handle { get; }

    public void Dispose() => Handle.Dispose();
}
