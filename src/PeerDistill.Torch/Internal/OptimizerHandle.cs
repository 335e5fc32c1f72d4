using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

/// <summary>Owns one native optimizer.</summary>
internal sealed class OptimizerHandle : SafeHandle
{
    public OptimizerHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    internal OptimizerHandle(IntPtr existing)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(existing);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.OptimizerFree(handle);
        return true;
    }
}
