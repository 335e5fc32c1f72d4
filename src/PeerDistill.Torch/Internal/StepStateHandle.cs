using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

/// <summary>Owns one native step state (a model's buffers and random stream, captured).</summary>
internal sealed class StepStateHandle : SafeHandle
{
    public StepStateHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ModelStepStateFree(handle);
        return true;
    }
}
