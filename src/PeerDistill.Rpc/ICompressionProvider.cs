namespace PeerDistill.Rpc;

/// <summary>A message compression for <c>grpc-encoding</c> (per message, flag bit in the 5-byte prefix).</summary>
public interface ICompressionProvider
{
    /// <summary>The encoding name on the wire, e.g. <c>gzip</c>.</summary>
    string EncodingName { get; }

    /// <summary>A stream that compresses what is written to it into <paramref name="destination"/>.</summary>
    Stream CreateCompressionStream(Stream destination);

    /// <summary>A stream that decompresses <paramref name="source"/>.</summary>
    Stream CreateDecompressionStream(Stream source);
}
