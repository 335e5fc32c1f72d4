using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_tensor_from_data")]
    internal static partial int TensorFromData(void* data, long count, int dtype, long* shape, int ndim, out TensorHandle tensor);

    [LibraryImport(Library, EntryPoint = "pd_tensor_from_blob")]
    internal static partial int TensorFromBlob(
        void* data, long count, int dtype, long* shape, int ndim, delegate* unmanaged<IntPtr, void> deleter, IntPtr context, out TensorHandle tensor);

    [LibraryImport(Library, EntryPoint = "pd_tensor_free")]
    internal static partial void TensorFree(IntPtr tensor);

    [LibraryImport(Library, EntryPoint = "pd_tensor_dim")]
    internal static partial int TensorDim(TensorHandle tensor, out int dim);

    [LibraryImport(Library, EntryPoint = "pd_tensor_shape")]
    internal static partial int TensorShape(TensorHandle tensor, long* shape, int capacity);

    [LibraryImport(Library, EntryPoint = "pd_tensor_dtype")]
    internal static partial int TensorDType(TensorHandle tensor, out int dtype);

    [LibraryImport(Library, EntryPoint = "pd_tensor_device")]
    internal static partial int TensorDevice(TensorHandle tensor, out int type, out int index);

    [LibraryImport(Library, EntryPoint = "pd_tensor_copy_to")]
    internal static partial int TensorCopyTo(TensorHandle tensor, int dtype, void* destination, long capacity);

    [LibraryImport(Library, EntryPoint = "pd_tensor_data_ptr")]
    internal static partial int TensorDataPtr(TensorHandle tensor, out IntPtr data);

    [LibraryImport(Library, EntryPoint = "pd_tensor_to", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int TensorTo(TensorHandle tensor, string device, int dtype, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_detach")]
    internal static partial int TensorDetach(TensorHandle tensor, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_clone")]
    internal static partial int TensorClone(TensorHandle tensor, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_item")]
    internal static partial int TensorItem(TensorHandle tensor, out double value);

    [LibraryImport(Library, EntryPoint = "pd_tensor_set_requires_grad")]
    internal static partial int TensorSetRequiresGrad(TensorHandle tensor, int value);

    [LibraryImport(Library, EntryPoint = "pd_tensor_requires_grad")]
    internal static partial int TensorRequiresGrad(TensorHandle tensor, out int value);

    [LibraryImport(Library, EntryPoint = "pd_tensor_grad")]
    internal static partial int TensorGrad(TensorHandle tensor, out IntPtr gradient);

    [LibraryImport(Library, EntryPoint = "pd_tensor_backward")]
    internal static partial int TensorBackward(TensorHandle tensor);

    [LibraryImport(Library, EntryPoint = "pd_tensor_argmax")]
    internal static partial int TensorArgmax(TensorHandle tensor, long dim, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_softmax")]
    internal static partial int TensorSoftmax(TensorHandle tensor, long dim, double temperature, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_weighted_mean")]
    internal static partial int TensorWeightedMean(IntPtr* items, double* weights, int count, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_check_finite", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int TensorCheckFinite(TensorHandle tensor, double maxAbs, string what);

    [LibraryImport(Library, EntryPoint = "pd_tensor_randn")]
    internal static partial int TensorRandn(long* shape, int ndim, long seed, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_matmul")]
    internal static partial int TensorMatmul(TensorHandle a, TensorHandle b, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_sum")]
    internal static partial int TensorSum(TensorHandle tensor, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_mul_scalar")]
    internal static partial int TensorMulScalar(TensorHandle tensor, double scalar, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_add")]
    internal static partial int TensorAdd(TensorHandle a, TensorHandle b, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_reshape")]
    internal static partial int TensorReshape(TensorHandle tensor, long* shape, int ndim, out TensorHandle result);

    [LibraryImport(Library, EntryPoint = "pd_tensor_equal")]
    internal static partial int TensorEqual(TensorHandle a, TensorHandle b, out int equal);
}
