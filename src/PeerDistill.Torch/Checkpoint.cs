using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>
/// One-file checkpoints: the model (as TorchScript, so a checkpoint alone rebuilds it), optimizer
/// state, step counter, the model's random stream and metadata. Writes go to a temporary file that
/// is flushed and renamed, so an interrupted save never replaces a good checkpoint with a torn one.
/// </summary>
public static class Checkpoint
{
    public static void Save(string path, Model model, Optimizer? optimizer, long step, string metadata = "")
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        WithOptimizer(optimizer, ptr => NativeStatus.Check(NativeMethods.CheckpointSave(model.Handle, ptr, step, metadata ?? string.Empty, full)));
    }

    /// <summary>Loads weights, buffers and random stream into <paramref name="model"/> (and the optimizer state); returns the step.</summary>
    public static long Restore(string path, Model model, Optimizer? optimizer)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        long step = 0;
        WithOptimizer(optimizer, ptr => NativeStatus.Check(NativeMethods.CheckpointRestore(path, model.Handle, ptr, out step)));
        return step;
    }

    /// <summary>Rebuilds the saved model from the checkpoint alone.</summary>
    public static (Model Model, long Step) LoadModel(string path, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(path);
        TorchRuntime.EnsureInitialized();
        NativeStatus.Check(NativeMethods.CheckpointLoadModel(path, device, out var handle, out var step));
        return (Model.FromHandle(handle), step);
    }

    /// <summary>
    /// Writes the model a checkpoint holds, in evaluation mode on the CPU, as a TorchScript file that
    /// torch.jit.load in PyTorch reads; returns its architecture and the checkpoint's step.
    /// </summary>
    public static (string Architecture, long Step) ExportTorchScript(string checkpointPath, string outputPath)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        var (model, step) = LoadModel(checkpointPath);
        using (model)
        {
            model.Eval();
            model.ExportTorchScript(outputPath);
            return (model.Architecture, step);
        }
    }

    /// <summary>The metadata string and step stored in a checkpoint.</summary>
    public static (string Metadata, long Step) ReadMetadata(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        TorchRuntime.EnsureInitialized();
        NativeStatus.Check(NativeMethods.CheckpointMetadata(path, out var text, out var step));
        return (NativeMethods.TakeString(text), step);
    }

    private static void WithOptimizer(Optimizer? optimizer, Action<IntPtr> call)
    {
        if (optimizer is null)
        {
            call(IntPtr.Zero);
            return;
        }

        var added = false;
        try
        {
            optimizer.Handle.DangerousAddRef(ref added);
            call(optimizer.Handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                optimizer.Handle.DangerousRelease();
            }
        }
    }
}
