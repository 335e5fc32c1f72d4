using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_model_feature_names")]
    internal static partial int ModelFeatureNames(ModelHandle model, out IntPtr names);

    [LibraryImport(Library, EntryPoint = "pd_model_forward_features", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ModelForwardFeatures(ModelHandle model, TensorHandle input, int grad, string name, out TensorHandle logits, out TensorHandle feature);

    [LibraryImport(Library, EntryPoint = "pd_model_add_hint_projection")]
    internal static partial int ModelAddHintProjection(ModelHandle model, long inChannels, long outChannels, int spatial, long seed);

    [LibraryImport(Library, EntryPoint = "pd_model_project_hint")]
    internal static partial int ModelProjectHint(ModelHandle model, TensorHandle feature, out TensorHandle projected);
}
