namespace PeerDistill.Core.Runner;

/// <summary>How a peer's run ended.</summary>
public enum PeerStatus
{
    /// <summary>Trained every step.</summary>
    Completed,

    /// <summary>Stopped on request (Ctrl-C) after saving a checkpoint.</summary>
    Interrupted,

    /// <summary>Stopped by an error of its own (NaN loss, I/O); the other peers went on.</summary>
    Failed,
}
