using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

/// <summary>Owns one native model.</summary>
internal sealed class ModelHandle : SafeHandle
{
    public ModelHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    internal ModelHandle(IntPtr existing)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(existing);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ModelFree(handle);
        return true;
    }
}
