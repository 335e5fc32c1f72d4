namespace PeerDistill.Torch;

/// <summary>What kind of failure the native engine reported.</summary>
public enum TorchErrorKind
{
    /// <summary>An error raised by libtorch itself (shape mismatch, bad dtype, out-of-range target...).</summary>
    Torch,

    /// <summary>An argument the shim refused (unknown model or option, wrong input shape...).</summary>
    InvalidArgument,

    /// <summary>A file that is missing, unreadable or not of the expected format.</summary>
    Io,

    /// <summary>A device that is not available, such as CUDA on a machine without a GPU.</summary>
    DeviceUnavailable,

    /// <summary>A NaN or infinity where a finite value was required.</summary>
    NonFinite,

    /// <summary>Another C++ standard exception.</summary>
    Native,

    /// <summary>Anything else thrown inside the native code.</summary>
    Unknown,

    /// <summary>
    /// The native engine itself could not be loaded: libpeerdistill_native.so is missing, or a
    /// library it needs (libtorch) is, or it is a build from another version of the project.
    /// </summary>
    EngineUnavailable,
}
