using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>Process- and thread-level settings of the engine.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<bool> Initialized = new(() =>
    {
        NativeStatus.Check(NativeMethods.RuntimeInit());
        return true;
    });

    /// <summary>Loads the native engine and applies its one-time settings (idempotent).</summary>
    public static void EnsureInitialized() => _ = Initialized.Value;

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
