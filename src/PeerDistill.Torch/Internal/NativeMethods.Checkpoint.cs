using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_checkpoint_save", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CheckpointSave(ModelHandle model, IntPtr optimizer, long step, string metadata, string path);

    [LibraryImport(Library, EntryPoint = "pd_checkpoint_restore", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CheckpointRestore(string path, ModelHandle model, IntPtr optimizer, out long step);

    [LibraryImport(Library, EntryPoint = "pd_checkpoint_load_model", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CheckpointLoadModel(string path, string device, out ModelHandle model, out long step);

    [LibraryImport(Library, EntryPoint = "pd_checkpoint_metadata", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CheckpointMetadata(string path, out IntPtr metadata, out long step);
}
