using System.Globalization;
using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>
/// A trainable model: one of the zoo's (<see cref="ZooNames"/>) or any TorchScript module exported
/// from PyTorch. Both are TorchScript modules underneath, so any model can be exported again.
/// </summary>
public sealed class Model : IDisposable
{
    private Model(ModelHandle handle)
    {
        Handle = handle;
    }

    internal ModelHandle Handle { get; }

    /// <summary>Names of the models in the zoo.</summary>
    public static IReadOnlyList<string> ZooNames => ZooNamesOnce.Value;

    /// <summary>
    /// Builds a zoo model for inputs of <paramref name="input"/> and <paramref name="classes"/>
    /// classes; weights are initialised from <paramref name="seed"/> (the same whatever other
    /// threads do). Options by model: mlp (widths, dropout), cnn (hidden, dropout), resnet8/20/32
    /// (width), mobilenetv2 (width, head, dropout).
    /// </summary>
    public static Model Create(
        string name, InputShape input, int classes, long seed, string device = "cpu", IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(device);
        TorchRuntime.EnsureInitialized();
        NativeStatus.Check(NativeMethods.ModelCreate(
            name, FormatOptions(options), input.Channels, input.Height, input.Width, classes, seed, device, out var handle));
        return new Model(handle);
    }

    /// <summary>Loads a TorchScript file (torch.jit.save) as a trainable model.</summary>
    public static Model LoadTorchScript(string path, string device = "cpu", long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(path);
        TorchRuntime.EnsureInitialized();
        NativeStatus.Check(NativeMethods.ModelLoadScript(path, device, seed, out var handle));
        return new Model(handle);
    }

    internal static Model FromHandle(ModelHandle handle) => new(handle);

    /// <summary>The zoo name, or "torchscript" for a loaded file.</summary>
    public string Architecture
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelArch(Handle, out var text));
            return NativeMethods.TakeString(text);
        }
    }

    /// <summary>The device the model lives on.</summary>
    public string Device
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelDevice(Handle, out var text));
            return NativeMethods.TakeString(text);
        }
    }

    /// <summary>Training mode (dropout active, batch-norm statistics updated) or evaluation mode.</summary>
    public bool IsTraining
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelIsTraining(Handle, out var training));
            return training != 0;
        }

        set => NativeStatus.Check(NativeMethods.ModelSetTraining(Handle, value ? 1 : 0));
    }

    /// <summary>Whether the forward pass draws random numbers in training mode (dropout).</summary>
    public bool IsStochastic
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelIsStochastic(Handle, out var value));
            return value != 0;
        }
    }

    /// <summary>Number of parameter values.</summary>
    public long ParameterCount
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelParameterCount(Handle, out var total, out _));
            return total;
        }
    }

    public void Train() => IsTraining = true;

    public void Eval() => IsTraining = false;

    /// <summary>Forward pass with autograd; returns logits [batch, classes].</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NativeStatus.Check(NativeMethods.ModelForward(Handle, input.Handle, 1, out var logits));
        return new Tensor(logits);
    }

    /// <summary>Forward pass under no_grad (evaluation); returns logits.</summary>
    public Tensor Predict(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NativeStatus.Check(NativeMethods.ModelForward(Handle, input.Handle, 0, out var logits));
        return new Tensor(logits);
    }

    /// <summary>
    /// The named intermediate outputs of the model, in forward order (empty when it has none): mlp
    /// fc0, fc1, ... (each hidden layer after its ReLU, [N, width]); cnn conv1 ([N, 32, H/2, W/2]),
    /// conv2 ([N, 64, H/4, W/4]), fc1 ([N, hidden]); resnet8/20/32 layer1, layer2, layer3 (each
    /// stage's output, [N, C, H', W']); mobilenetv2 features, head ([N, C, H', W']).
    /// </summary>
    public IReadOnlyList<string> OutputNames
    {
        get
        {
            NativeStatus.Check(NativeMethods.ModelFeatureNames(Handle, out var text));
            return NativeMethods.TakeString(text).Split(',', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>
    /// One forward pass that gives the logits and the named output <paramref name="name"/> (see
    /// <see cref="OutputNames"/>), with the same ops and random draws as <see cref="Forward"/>;
    /// with autograd unless <paramref name="grad"/> is false.
    /// </summary>
    public (Tensor Logits, Tensor Output) ForwardWithOutput(Tensor input, string name, bool grad = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(name);
        NativeStatus.Check(NativeMethods.ModelForwardFeatures(Handle, input.Handle, grad ? 1 : 0, name, out var logits, out var output));
        return (new Tensor(logits), new Tensor(output));
    }

    /// <summary>
    /// Adds the learned projection of a hint term (FitNets) from <paramref name="inChannels"/> to
    /// <paramref name="outChannels"/>: a 1x1 convolution when <paramref name="spatial"/> (outputs
    /// [N, C, H, W]), else a linear map; initialised as PyTorch's layers from <paramref name="seed"/>.
    /// It becomes part of the model's parameters (trained by an optimizer created afterwards, kept
    /// in checkpoints) without changing its logits.
    /// </summary>
    public void AddHintProjection(long inChannels, long outChannels, bool spatial, long seed) =>
        NativeStatus.Check(NativeMethods.ModelAddHintProjection(Handle, inChannels, outChannels, spatial ? 1 : 0, seed));

    /// <summary>The hint projection applied to <paramref name="output"/> (with autograd).</summary>
    public Tensor ProjectHint(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        NativeStatus.Check(NativeMethods.ModelProjectHint(Handle, output.Handle, out var projected));
        return new Tensor(projected);
    }

    /// <summary>Parameters, then buffers, as live tensors (dispose the returned entries).</summary>
    public IReadOnlyList<NamedTensor> State()
    {
        NativeStatus.Check(NativeMethods.ModelStateCount(Handle, out var count));
        var result = new List<NamedTensor>(count);
        for (var i = 0; i < count; i++)
        {
            NativeStatus.Check(NativeMethods.ModelStateGet(Handle, i, out var name, out var isParameter, out var tensor));
            result.Add(new NamedTensor(NativeMethods.TakeString(name), isParameter != 0, new Tensor(tensor)));
        }

        return result;
    }

    /// <summary>
    /// Whether a training-mode forward pass changes the model besides its autograd graph: it has
    /// buffers (batch-norm statistics) or draws random numbers. Only then is there a step state to
    /// capture.
    /// </summary>
    public bool HasStepState
    {
        get
        {
            if (IsStochastic)
            {
                return true;
            }

            var state = State();
            var buffers = state.Any(s => !s.IsParameter);
            foreach (var entry in state)
            {
                entry.Dispose();
            }

            return buffers;
        }
    }

    /// <summary>The buffers and random stream as they are now, for <see cref="RestoreStepState"/>.</summary>
    public ModelStepState CaptureStepState()
    {
        NativeStatus.Check(NativeMethods.ModelCaptureStepState(Handle, out var state));
        return new ModelStepState(state);
    }

    /// <summary>Puts the buffers and random stream back as <paramref name="state"/> captured them (parameters are not touched).</summary>
    public void RestoreStepState(ModelStepState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        NativeStatus.Check(NativeMethods.ModelRestoreStepState(Handle, state.Handle));
    }

    /// <summary>Writes the model as a TorchScript file that torch.jit.load in PyTorch reads.</summary>
    public void ExportTorchScript(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        NativeStatus.Check(NativeMethods.ModelSaveScript(Handle, Path.GetFullPath(path)));
    }

    public void Dispose() => Handle.Dispose();

    private static string FormatOptions(IReadOnlyDictionary<string, string>? options)
    {
        if (options is null || options.Count == 0)
        {
            return string.Empty;
        }

        foreach (var (key, value) in options)
        {
            if (key.Contains('=', StringComparison.Ordinal) || key.Contains(';', StringComparison.Ordinal) || value.Contains(';', StringComparison.Ordinal))
            {
                throw new ArgumentException($"model option '{key}' contains '=' or ';'", nameof(options));
            }
        }

        return string.Join(';', options.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value}")));
    }

    // Read on first use, not in a static constructor: where the engine cannot be loaded the
    // caller gets its TorchException, not a TypeInitializationException for the whole type.
    private static readonly Lazy<string[]> ZooNamesOnce = new(ReadZooNames);

    private static string[] ReadZooNames()
    {
        TorchRuntime.EnsureInitialized();
        var text = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.ZooModels()) ?? string.Empty;
        return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }
}
