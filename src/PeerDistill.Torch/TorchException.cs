namespace PeerDistill.Torch;

/// <summary>An error reported by the native engine, carrying its kind and the native message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(TorchErrorKind kind, string message)
        : base(message)
    {
        Kind = kind;
    }

    public TorchException()
        : this(TorchErrorKind.Unknown, "native error")
    {
    }

    public TorchException(string message)
        : this(TorchErrorKind.Unknown, message)
    {
    }

    public TorchException(string message, Exception innerException)
        : this(TorchErrorKind.Unknown, message, innerException)
    {
    }

    public TorchException(TorchErrorKind kind, string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>What kind of failure this is.</summary>
    public TorchErrorKind Kind { get; }
}
