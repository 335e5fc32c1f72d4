using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// Builds a peer's model from its spec, the one place that knows the model sources: a checkpoint
/// file (.ckpt, which rebuilds its model), a TorchScript file, or a zoo model from its seed; a
/// frozen zoo model then loads its checkpoint's weights. A frozen model is put in evaluation mode.
/// </summary>
public static class PeerModels
{
    /// <summary>The model of <paramref name="spec"/> on its device (the caller disposes it).</summary>
    public static Model Build(PeerSpec spec, InputShape shape, int classes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var model = spec.Model.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)
            ? Checkpoint.LoadModel(spec.Model, spec.Device).Model
            : File.Exists(spec.Model)
                ? Model.LoadTorchScript(spec.Model, spec.Device, spec.Seed)
                : Model.Create(spec.Model, shape, classes, spec.Seed, spec.Device, spec.ModelOptions);
        try
        {
            if (spec.Checkpoint is { } checkpoint)
            {
                Checkpoint.Restore(checkpoint, model, optimizer: null);
            }

            if (spec.Frozen)
            {
                model.Eval();
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
