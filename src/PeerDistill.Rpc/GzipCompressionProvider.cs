using System.IO.Compression;

namespace PeerDistill.Rpc;

/// <summary>The <c>gzip</c> message encoding.</summary>
public sealed class GzipCompressionProvider(CompressionLevel level = CompressionLevel.Fastest) : ICompressionProvider
{
    /// <inheritdoc/>
    public string EncodingName => "gzip";

    /// <inheritdoc/>
    public Stream CreateCompressionStream(Stream destination) => new GZipStream(destination, level, leaveOpen: true);

    /// <inheritdoc/>
    public Stream CreateDecompressionStream(Stream source) => new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
}
