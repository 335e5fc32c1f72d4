using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>A libtorch tensor owned by managed code. Dispose it (or let the finalizer of its handle run).</summary>
public sealed unsafe class Tensor : IDisposable
{
    internal Tensor(TensorHandle handle)
    {
        Handle = handle;
    }

    internal TensorHandle Handle { get; }

    /// <summary>Copies float values into a new CPU tensor of the given shape.</summary>
    public static Tensor FromSpan(ReadOnlySpan<float> data, ReadOnlySpan<long> shape) =>
        FromData(MemoryMarshal.AsBytes(data), data.Length, ScalarType.Float32, shape);

    /// <summary>Copies int64 values into a new CPU tensor of the given shape.</summary>
    public static Tensor FromSpan(ReadOnlySpan<long> data, ReadOnlySpan<long> shape) =>
        FromData(MemoryMarshal.AsBytes(data), data.Length, ScalarType.Int64, shape);

    /// <summary>Copies float values into a new CPU tensor of the given shape.</summary>
    public static Tensor FromArray(float[] data, params long[] shape) => FromSpan(data, shape);

    /// <summary>Copies int64 values into a new CPU tensor of the given shape.</summary>
    public static Tensor FromArray(long[] data, params long[] shape) => FromSpan(data, shape);

    /// <summary>
    /// Wraps a managed array without copying: the array is pinned until libtorch releases the
    /// storage (when this tensor and every view of it are gone). Writes to the array show in the tensor.
    /// </summary>
    public static Tensor Wrap(float[] data, params long[] shape) => WrapArray(data, data.Length, ScalarType.Float32, shape);

    /// <inheritdoc cref="Wrap(float[], long[])"/>
    public static Tensor Wrap(long[] data, params long[] shape) => WrapArray(data, data.Length, ScalarType.Int64, shape);

    /// <summary>Standard normal values drawn from a private generator seeded with <paramref name="seed"/>.</summary>
    public static Tensor Randn(long seed, params long[] shape)
    {
        TorchRuntime.EnsureInitialized();
        fixed (long* s = shape)
        {
            NativeStatus.Check(NativeMethods.TensorRandn(s, shape.Length, seed, out var handle));
            return new Tensor(handle);
        }
    }

    /// <summary>sum(w_i * x_i) / sum(w_i) over same-shape tensors, without autograd history.</summary>
    public static Tensor WeightedMean(IReadOnlyList<Tensor> items, ReadOnlySpan<double> weights)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (weights.Length != 0 && weights.Length != items.Count)
        {
            throw new ArgumentException($"{weights.Length} weights for {items.Count} tensors", nameof(weights));
        }

        using var pins = new HandleList(items);
        fixed (double* w = weights)
        {
            NativeStatus.Check(NativeMethods.TensorWeightedMean(pins.Pointer, weights.Length == 0 ? null : w, items.Count, out var handle));
            return new Tensor(handle);
        }
    }

    /// <summary>True when both tensors have the same shape and identical elements.</summary>
    public static bool Equal(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        NativeStatus.Check(NativeMethods.TensorEqual(a.Handle, b.Handle, out var equal));
        return equal != 0;
    }

    /// <summary>Number of dimensions.</summary>
    public int Dim
    {
        get
        {
            NativeStatus.Check(NativeMethods.TensorDim(Handle, out var dim));
            return dim;
        }
    }

    /// <summary>Sizes of every dimension.</summary>
    public long[] Shape
    {
        get
        {
            var shape = new long[Dim];
            fixed (long* s = shape)
            {
                NativeStatus.Check(NativeMethods.TensorShape(Handle, s, shape.Length));
            }

            return shape;
        }
    }

    /// <summary>Total number of elements.</summary>
    public long NumElements
    {
        get
        {
            long n = 1;
            foreach (var d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    /// <summary>Element type.</summary>
    public ScalarType DType
    {
        get
        {
            NativeStatus.Check(NativeMethods.TensorDType(Handle, out var dtype));
            if (dtype < 0)
            {
                throw new TorchException(TorchErrorKind.InvalidArgument, "tensor has an element type the binding does not map");
            }

            return (ScalarType)dtype;
        }
    }

    /// <summary>"cpu" or "cuda:N".</summary>
    public string Device
    {
        get
        {
            NativeStatus.Check(NativeMethods.TensorDevice(Handle, out var type, out var index));
            return type == 0 ? "cpu" : index >= 0 ? $"cuda:{index}" : "cuda";
        }
    }

    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get
        {
            NativeStatus.Check(NativeMethods.TensorRequiresGrad(Handle, out var value));
            return value != 0;
        }

        set => NativeStatus.Check(NativeMethods.TensorSetRequiresGrad(Handle, value ? 1 : 0));
    }

    /// <summary>The accumulated gradient of a leaf tensor, or null when there is none.</summary>
    public Tensor? Grad
    {
        get
        {
            NativeStatus.Check(NativeMethods.TensorGrad(Handle, out var gradient));
            return gradient == IntPtr.Zero ? null : new Tensor(new TensorHandle(gradient));
        }
    }

    /// <summary>Copies the elements (converted to float32) to a new array.</summary>
    public float[] ToFloatArray()
    {
        var result = new float[NumElements];
        CopyTo(result.AsSpan());
        return result;
    }

    /// <summary>Copies the elements (converted to int64) to a new array.</summary>
    public long[] ToInt64Array()
    {
        var result = new long[NumElements];
        CopyTo(result.AsSpan());
        return result;
    }

    /// <summary>Copies the elements, converted to float32, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        fixed (float* d = destination)
        {
            NativeStatus.Check(NativeMethods.TensorCopyTo(Handle, (int)ScalarType.Float32, d, destination.Length));
        }
    }

    /// <summary>Copies the elements, converted to int64, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<long> destination)
    {
        fixed (long* d = destination)
        {
            NativeStatus.Check(NativeMethods.TensorCopyTo(Handle, (int)ScalarType.Int64, d, destination.Length));
        }
    }

    /// <summary>
    /// A zero-copy view of a contiguous float32 CPU tensor. Valid only while this tensor is alive
    /// and not modified by libtorch.
    /// </summary>
    public ReadOnlySpan<float> AsFloatSpan()
    {
        if (DType != ScalarType.Float32)
        {
            throw new InvalidOperationException($"AsFloatSpan needs a float32 tensor, this one is {DType}");
        }

        NativeStatus.Check(NativeMethods.TensorDataPtr(Handle, out var data));
        return new ReadOnlySpan<float>((void*)data, checked((int)NumElements));
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        NativeStatus.Check(NativeMethods.TensorItem(Handle, out var value));
        return value;
    }

    /// <summary>Moves (or converts) the tensor; returns a new tensor.</summary>
    public Tensor To(string device, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        NativeStatus.Check(NativeMethods.TensorTo(Handle, device, dtype is null ? -1 : (int)dtype.Value, out var handle));
        return new Tensor(handle);
    }

    public Tensor Detach() => Unary(NativeMethods.TensorDetach);

    public Tensor Clone() => Unary(NativeMethods.TensorClone);

    public Tensor Sum() => Unary(NativeMethods.TensorSum);

    public Tensor Argmax(long dim)
    {
        NativeStatus.Check(NativeMethods.TensorArgmax(Handle, dim, out var handle));
        return new Tensor(handle);
    }

    /// <summary>softmax(x / temperature) along <paramref name="dim"/>, without autograd history.</summary>
    public Tensor Softmax(long dim, double temperature = 1.0)
    {
        NativeStatus.Check(NativeMethods.TensorSoftmax(Handle, dim, temperature, out var handle));
        return new Tensor(handle);
    }

    public Tensor Mul(double scalar)
    {
        NativeStatus.Check(NativeMethods.TensorMulScalar(Handle, scalar, out var handle));
        return new Tensor(handle);
    }

    public Tensor Add(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.TensorAdd(Handle, other.Handle, out var handle));
        return new Tensor(handle);
    }

    public Tensor Matmul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.TensorMatmul(Handle, other.Handle, out var handle));
        return new Tensor(handle);
    }

    /// <summary>Same elements, new shape (one dimension may be -1).</summary>
    public Tensor Reshape(params long[] shape)
    {
        fixed (long* s = shape)
        {
            NativeStatus.Check(NativeMethods.TensorReshape(Handle, s, shape.Length, out var handle));
            return new Tensor(handle);
        }
    }

    /// <summary>Runs autograd from this (scalar) tensor.</summary>
    public void Backward() => NativeStatus.Check(NativeMethods.TensorBackward(Handle));

    /// <summary>
    /// Throws a <see cref="TorchException"/> of kind NonFinite, naming <paramref name="what"/>, when
    /// any element is NaN or infinite, or has a magnitude above <paramref name="maxAbs"/> (when given).
    /// </summary>
    public void EnsureFinite(string what, double? maxAbs = null) => NativeStatus.Check(NativeMethods.TensorCheckFinite(Handle, maxAbs ?? 0, what));

    public void Dispose() => Handle.Dispose();

    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}] {DType} on {Device}";

    private static Tensor FromData(ReadOnlySpan<byte> bytes, long count, ScalarType dtype, ReadOnlySpan<long> shape)
    {
        TorchRuntime.EnsureInitialized();
        fixed (byte* d = bytes)
        fixed (long* s = shape)
        {
            NativeStatus.Check(NativeMethods.TensorFromData(d, count, (int)dtype, s, shape.Length, out var handle));
            return new Tensor(handle);
        }
    }

    private static Tensor WrapArray(Array data, long count, ScalarType dtype, long[] shape)
    {
        TorchRuntime.EnsureInitialized();
        var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
        int status;
        TensorHandle handle;
        fixed (long* s = shape)
        {
            status = NativeMethods.TensorFromBlob(
                (void*)pin.AddrOfPinnedObject(), count, (int)dtype, s, shape.Length, &ReleasePin, GCHandle.ToIntPtr(pin), out handle);
        }

        if (status != 0)
        {
            // The shim never took ownership: unpin here.
            pin.Free();
            NativeStatus.Check(status);
        }

        return new Tensor(handle);
    }

    [UnmanagedCallersOnly]
    private static void ReleasePin(IntPtr context) => GCHandle.FromIntPtr(context).Free();

    private delegate int UnaryOp(TensorHandle input, out TensorHandle output);

    private Tensor Unary(UnaryOp op)
    {
        NativeStatus.Check(op(Handle, out var handle));
        return new Tensor(handle);
    }
}
