using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

/// <summary>
/// A native array of tensor pointers for calls that take several tensors; keeps every handle
/// referenced (DangerousAddRef) until disposed so that none is released mid-call.
/// </summary>
internal sealed unsafe class HandleList : IDisposable
{
    private readonly SafeHandle[] _handles;
    private readonly bool[] _added;
    private IntPtr* _pointers;

    public HandleList(IReadOnlyList<Tensor> tensors)
    {
        _handles = new SafeHandle[tensors.Count];
        _added = new bool[tensors.Count];
        _pointers = (IntPtr*)NativeMemory.Alloc((nuint)Math.Max(1, tensors.Count), (nuint)sizeof(IntPtr));
        try
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                ArgumentNullException.ThrowIfNull(tensors[i]);
                _handles[i] = tensors[i].Handle;
                _handles[i].DangerousAddRef(ref _added[i]);
                _pointers[i] = _handles[i].DangerousGetHandle();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IntPtr* Pointer => _pointers;

    public void Dispose()
    {
        for (var i = 0; i < _handles.Length; i++)
        {
            if (_added[i])
            {
                _handles[i].DangerousRelease();
                _added[i] = false;
            }
        }

        NativeMemory.Free(_pointers);
        _pointers = null;
    }
}
