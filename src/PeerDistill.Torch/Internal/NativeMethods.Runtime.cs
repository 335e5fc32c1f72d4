using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_runtime_init")]
    internal static partial int RuntimeInit();

    [LibraryImport(Library, EntryPoint = "pd_set_num_threads")]
    internal static partial int SetNumThreads(int threads);

    [LibraryImport(Library, EntryPoint = "pd_get_num_threads")]
    internal static partial int GetNumThreads(out int threads);

    [LibraryImport(Library, EntryPoint = "pd_manual_seed")]
    internal static partial int ManualSeed(long seed);

    [LibraryImport(Library, EntryPoint = "pd_cuda_device_count")]
    internal static partial int CudaDeviceCount(out int count);

    [LibraryImport(Library, EntryPoint = "pd_cuda_memory_stats", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CudaMemoryStats(string device, int reset, out long allocated, out long peakAllocated, out long reserved, out long peakReserved);

    [LibraryImport(Library, EntryPoint = "pd_check_device", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CheckDevice(string device);

    [LibraryImport(Library, EntryPoint = "pd_build_info")]
    internal static partial int BuildInfo(out IntPtr text);
}
