using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_model_create", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ModelCreate(
        string name, string options, long channels, long height, long width, long classes, long seed, string device, out ModelHandle model);

    [LibraryImport(Library, EntryPoint = "pd_model_load_script", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ModelLoadScript(string path, string device, long seed, out ModelHandle model);

    [LibraryImport(Library, EntryPoint = "pd_model_free")]
    internal static partial void ModelFree(IntPtr model);

    [LibraryImport(Library, EntryPoint = "pd_model_forward")]
    internal static partial int ModelForward(ModelHandle model, TensorHandle input, int grad, out TensorHandle logits);

    [LibraryImport(Library, EntryPoint = "pd_model_set_training")]
    internal static partial int ModelSetTraining(ModelHandle model, int training);

    [LibraryImport(Library, EntryPoint = "pd_model_is_training")]
    internal static partial int ModelIsTraining(ModelHandle model, out int training);

    [LibraryImport(Library, EntryPoint = "pd_model_is_stochastic")]
    internal static partial int ModelIsStochastic(ModelHandle model, out int stochastic);

    [LibraryImport(Library, EntryPoint = "pd_model_parameter_count")]
    internal static partial int ModelParameterCount(ModelHandle model, out long total, out long trainable);

    [LibraryImport(Library, EntryPoint = "pd_model_arch")]
    internal static partial int ModelArch(ModelHandle model, out IntPtr arch);

    [LibraryImport(Library, EntryPoint = "pd_model_device")]
    internal static partial int ModelDevice(ModelHandle model, out IntPtr device);

    [LibraryImport(Library, EntryPoint = "pd_model_state_count")]
    internal static partial int ModelStateCount(ModelHandle model, out int count);

    [LibraryImport(Library, EntryPoint = "pd_model_state_get")]
    internal static partial int ModelStateGet(ModelHandle model, int index, out IntPtr name, out int isParameter, out TensorHandle tensor);

    [LibraryImport(Library, EntryPoint = "pd_model_save_script", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ModelSaveScript(ModelHandle model, string path);

    [LibraryImport(Library, EntryPoint = "pd_model_capture_step_state")]
    internal static partial int ModelCaptureStepState(ModelHandle model, out StepStateHandle state);

    [LibraryImport(Library, EntryPoint = "pd_model_restore_step_state")]
    internal static partial int ModelRestoreStepState(ModelHandle model, StepStateHandle state);

    [LibraryImport(Library, EntryPoint = "pd_model_step_state_free")]
    internal static partial void ModelStepStateFree(IntPtr state);

    [LibraryImport(Library, EntryPoint = "pd_zoo_models")]
    internal static partial IntPtr ZooModels();
}
