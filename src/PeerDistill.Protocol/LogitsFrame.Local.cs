namespace PeerDistill.Protocol.V1;

/// <summary>What a frame carries inside one process, beside its message fields.</summary>
public sealed partial class LogitsFrame
{
    /// <summary>
    /// The logits as floats, for a receiver in the sender's own process (fp32 wire only, where the
    /// codec changes nothing): such a frame skips the codec, its <c>values</c> staying empty until
    /// it goes on the network. Not part of the message: never serialized, not copied by <c>Clone</c>.
    /// </summary>
    public float[]? LocalValues { get; set; }
}
