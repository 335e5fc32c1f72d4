using PeerDistill.Torch;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The rules of a frozen teacher (<c>peers[i].frozen</c>, <c>peers[i].checkpoint</c>): a checkpoint
/// only for a frozen zoo model; a frozen peer has trained weights (a checkpoint, or a checkpoint or
/// TorchScript file as its model) and no optimizer or schedule; with the engine, the model is built
/// once and its output checked against the data set's classes.
/// </summary>
internal static class FrozenTeacherChecks
{
    private static readonly string[] FileExtensions = [".ckpt", ".pt", ".pth", ".ts"];

    /// <summary>Reports what is wrong; returns the checkpoint's full path (null when none or wrong).</summary>
    public static string? Check(
        SpecContext context,
        MappingReader r,
        string? model,
        IReadOnlyDictionary<string, string> options,
        bool optionsValid,
        bool frozen,
        string? checkpoint,
        string baseDirectory,
        int classes,
        bool engineChecks)
    {
        string? fullCheckpoint = null;
        var modelIsFile = model is not null && FileExtensions.Any(e => model.EndsWith(e, StringComparison.OrdinalIgnoreCase));
        if (checkpoint is not null)
        {
            var node = r.Node("checkpoint")!;
            if (!frozen)
            {
                context.Report(r.PathOf("checkpoint"), "only for a frozen peer (frozen: true); a live peer starts from its seed", node);
                return null;
            }

            if (modelIsFile)
            {
                context.Report(r.PathOf("checkpoint"), "only for a zoo model; this peer's model is already a file with its weights", node);
                return null;
            }

            fullCheckpoint = Path.GetFullPath(checkpoint, baseDirectory);
            if (!File.Exists(fullCheckpoint))
            {
                context.Report(r.PathOf("checkpoint"), $"checkpoint file {SpecContext.Quote(fullCheckpoint, int.MaxValue)} not found", node);
                return null;
            }
        }

        if (!frozen)
        {
            return null;
        }

        foreach (var key in new[] { "optimizer", "schedule" })
        {
            if (r.Node(key) is { } node)
            {
                context.Report(r.PathOf(key), "a frozen peer does not train: it takes no " + key, node);
            }
        }

        if (model is null)
        {
            return fullCheckpoint;
        }

        if (!modelIsFile && fullCheckpoint is null)
        {
            context.Report(
                r.PathOf("checkpoint"),
                $"a frozen zoo model needs trained weights: give checkpoint (a .ckpt file), or a checkpoint or TorchScript file as model",
                r.Node("frozen")!);
            return null;
        }

        if (engineChecks && (modelIsFile || optionsValid))
        {
            var key = fullCheckpoint is null ? "model" : "checkpoint";
            if (Load(model, options, fullCheckpoint, classes) is { } problem)
            {
                context.Report(r.PathOf(key), $"cannot load the frozen teacher: {problem}", r.Node(key)!);
                return null;
            }
        }

        return fullCheckpoint;
    }

    /// <summary>Builds the teacher on the CPU as its peer will and runs one input through it; the problem, or null.</summary>
    private static string? Load(string model, IReadOnlyDictionary<string, string> options, string? checkpoint, int classes)
    {
        try
        {
            var spec = new PeerSpec { Name = "check", Model = model, ModelOptions = options, Frozen = true, Checkpoint = checkpoint };
            using var built = Runner.PeerModels.Build(spec, ZooModelCheck.Input, classes);
            using var x = Tensor.FromArray(new float[ZooModelCheck.Input.Channels * ZooModelCheck.Input.Height * ZooModelCheck.Input.Width], 1, ZooModelCheck.Input.Channels, ZooModelCheck.Input.Height, ZooModelCheck.Input.Width);
            using var logits = built.Predict(x);
            var shape = logits.Shape;
            return shape.Length == 2 && shape[1] == classes
                ? null
                : $"its output is [{string.Join(", ", shape)}] for one input, the data set has {classes} classes";
        }
        catch (TorchException e)
        {
            return e.Message;
        }
    }
}
