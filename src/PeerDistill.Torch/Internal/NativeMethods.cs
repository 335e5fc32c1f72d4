using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

/// <summary>
/// The flat C ABI of the native shim (src/PeerDistill.Torch.Native). One partial file per native
/// area, mirroring the shim's source files. Every function returns a status code that
/// <see cref="NativeStatus.Check"/> turns into a <see cref="TorchException"/>.
/// </summary>
internal static partial class NativeMethods
{
    internal const string Library = "peerdistill_native";

    [LibraryImport(Library, EntryPoint = "pd_take_error")]
    internal static partial IntPtr TakeError();

    [LibraryImport(Library, EntryPoint = "pd_free_string")]
    internal static partial void FreeString(IntPtr text);

    /// <summary>Reads a malloc'd UTF-8 string from the shim and frees it.</summary>
    internal static string TakeString(IntPtr text)
    {
        if (text == IntPtr.Zero)
        {
            return string.Empty;
        }

        try
        {
            return Marshal.PtrToStringUTF8(text) ?? string.Empty;
        }
        finally
        {
            FreeString(text);
        }
    }
}
