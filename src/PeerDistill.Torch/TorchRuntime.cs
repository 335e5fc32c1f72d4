using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>Process- and thread-level settings of the engine.</summary>
public static class TorchRuntime
{
    private const string LibraryFile = "libpeerdistill_native.so";

    private static readonly Lazy<bool> Initialized = new(() =>
    {
        try
        {
            NativeStatus.Check(NativeMethods.RuntimeInit());
        }
        catch (DllNotFoundException e)
        {
            throw new TorchException(TorchErrorKind.EngineUnavailable, WhyNotLoaded(e.Message), e);
        }
        catch (EntryPointNotFoundException e)
        {
            throw new TorchException(
                TorchErrorKind.EngineUnavailable,
                $"the native engine {Path.Combine(AppContext.BaseDirectory, LibraryFile)} is from another version of PeerDistill ({e.Message}); rebuild it with ./build.sh setup (or the shim's CMake build) and put it next to the program",
                e);
        }

        return true;
    });

    /// <summary>
    /// Loads the native engine and applies its one-time settings (idempotent). Throws a
    /// <see cref="TorchException"/> of kind <see cref="TorchErrorKind.EngineUnavailable"/> naming
    /// the missing file when the engine cannot be loaded.
    /// </summary>
    public static void EnsureInitialized() => _ = Initialized.Value;

    /// <summary>
    /// Device memory of a CUDA device's caching allocator (<paramref name="device"/> is cuda or
    /// cuda:N). With <paramref name="resetPeaks"/> the peaks start again from the current values
    /// after they are read. Throws where CUDA is absent, for a CPU device, and where the shim was
    /// built against a libtorch without device allocator statistics.
    /// </summary>
    public static DeviceMemory CudaMemory(string device, bool resetPeaks = false)
    {
        ArgumentNullException.ThrowIfNull(device);
        EnsureInitialized();
        NativeStatus.Check(NativeMethods.CudaMemoryStats(device, resetPeaks ? 1 : 0, out var allocated, out var peakAllocated, out var reserved, out var peakReserved));
        return new DeviceMemory(allocated, peakAllocated, reserved, peakReserved);
    }

    // The loader's message lists every path it tried; where the shim is present but a library it
    // needs is not, the line for the shim's own path says which one.
    private static string WhyNotLoaded(string loaderMessage)
    {
        var expected = Path.Combine(AppContext.BaseDirectory, LibraryFile);
        if (!File.Exists(expected))
        {
            return $"the native engine {LibraryFile} is not next to the program ({expected}) nor on LD_LIBRARY_PATH; build it with ./build.sh setup, or for a published binary put the shim built against this machine's libtorch there (docs/engine.md, \"Self-contained build\")";
        }

        var cause = loaderMessage.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(expected + ":", StringComparison.Ordinal));
        return $"the native engine {expected} could not be loaded: {(cause is null ? loaderMessage.Split('\n')[0].Trim() : cause[(expected.Length + 1)..].Trim())} (the shim must be a build of src/PeerDistill.Torch.Native for this machine, and the libtorch it was built against must be on the library path or in its RUNPATH)";
    }

    /// <summary>
    /// Sets the intra-op thread count for parallel work started from the calling thread (and the
    /// process default). A peer running on its own thread sets its own budget this way.
    /// </summary>
    public static void SetNumThreads(int threads)
    {
        EnsureInitialized();
        if (threads <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "thread count must be positive");
        }

        NativeStatus.Check(NativeMethods.SetNumThreads(threads));
    }

    /// <summary>The intra-op thread count seen by the calling thread.</summary>
    public static int NumThreads
    {
        get
        {
            EnsureInitialized();
            NativeStatus.Check(NativeMethods.GetNumThreads(out var threads));
            return threads;
        }
    }

    /// <summary>Number of CUDA devices libtorch can use (0 on a CPU-only build or machine).</summary>
    public static int CudaDeviceCount
    {
        get
        {
            EnsureInitialized();
            NativeStatus.Check(NativeMethods.CudaDeviceCount(out var count));
            return count;
        }
    }

    /// <summary>Throws a <see cref="TorchException"/> when the device string is invalid or the device absent.</summary>
    public static void CheckDevice(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EnsureInitialized();
        NativeStatus.Check(NativeMethods.CheckDevice(device));
    }

    /// <summary>The libtorch version and its parallel settings, for logs and reports.</summary>
    public static string BuildInfo
    {
        get
        {
            EnsureInitialized();
            NativeStatus.Check(NativeMethods.BuildInfo(out var text));
            return NativeMethods.TakeString(text);
        }
    }

    /// <summary>Peak resident memory of this process so far, in bytes (VmHWM), or -1 where unknown.</summary>
    public static long PeakResidentBytes => ReadStatusKilobytes("VmHWM:");

    /// <summary>Current resident memory of this process, in bytes (VmRSS), or -1 where unknown.</summary>
    public static long ResidentBytes => ReadStatusKilobytes("VmRSS:");

    private static long ReadStatusKilobytes(string key)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return -1;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                var digits = line[key.Length..].Trim().Split(' ')[0];
                return long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }
}
