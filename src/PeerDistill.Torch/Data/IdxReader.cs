using System.Buffers.Binary;
using System.IO.Compression;

namespace PeerDistill.Torch.Data;

/// <summary>
/// Reads IDX files (the MNIST format): a big-endian header with magic 0x0000TTNN (TT the element
/// type, NN the number of dimensions), NN big-endian uint32 sizes, then the elements. Only unsigned
/// byte elements are supported. Gzip-compressed files are recognized by their magic bytes (1f 8b)
/// whatever their name. Every format error is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of a uint8 file with three dimensions (count, rows, columns).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of a uint8 file with one dimension (count).</summary>
    public const int LabelsMagic = 0x00000801;

    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads a uint8 image file (magic 0x00000803).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(string path)
    {
        using var stream = OpenFile(path);
        return ReadImages(stream, path);
    }

    /// <summary>Reads a uint8 image file from <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(Stream stream, string source)
    {
        var (dims, data) = Read(stream, source, ImagesMagic, "images");
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a uint8 label file (magic 0x00000801).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(string path)
    {
        using var stream = OpenFile(path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads a uint8 label file from <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(Stream stream, string source) => Read(stream, source, LabelsMagic, "labels").Data;

    private static FileStream OpenFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"IDX file not found: {path}", path, e);
        }
    }

    private static (int[] Dims, byte[] Data) Read(Stream stream, string source, int expectedMagic, string kind)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        var input = Decompressed(stream);
        try
        {
            return ReadPayload(input, source, expectedMagic, kind);
        }
        finally
        {
            if (!ReferenceEquals(input, stream))
            {
                input.Dispose();
            }
        }
    }

    private static (int[] Dims, byte[] Data) ReadPayload(Stream input, string source, int expectedMagic, string kind)
    {
        Span<byte> magicBytes = stackalloc byte[4];
        ReadExactly(input, magicBytes, source, "the 4-byte magic number");
        var magic = BinaryPrimitives.ReadInt32BigEndian(magicBytes);
        if (magicBytes[0] != 0 || magicBytes[1] != 0)
        {
            throw Invalid(source, $"bad magic 0x{magic:X8}: not an IDX file (expected 0x{expectedMagic:X8} for {kind})");
        }

        if (magicBytes[2] != UnsignedByteType)
        {
            throw Invalid(source, $"unsupported element type 0x{magicBytes[2]:X2} in magic 0x{magic:X8} (only unsigned byte, 0x08, is supported)");
        }

        if (magic != expectedMagic)
        {
            throw Invalid(source, $"bad magic 0x{magic:X8}: {magicBytes[3]} dimensions, expected 0x{expectedMagic:X8} for {kind}");
        }

        var rank = magicBytes[3];
        Span<byte> dimBytes = stackalloc byte[4 * rank];
        ReadExactly(input, dimBytes, source, $"{rank} dimension sizes");
        var dims = new int[rank];
        long total = 1;
        for (var i = 0; i < rank; i++)
        {
            var size = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (size > int.MaxValue || (i > 0 && size == 0))
            {
                throw Invalid(source, $"invalid size {size} of dimension {i}");
            }

            dims[i] = (int)size;
            total *= size;
            if (total > Array.MaxLength)
            {
                throw Invalid(source, $"dimensions [{string.Join(", ", dims[..(i + 1)])}] exceed the largest supported array");
            }
        }

        // A plain file reveals a short payload before the (possibly huge) buffer is allocated.
        if (input.CanSeek && input.Length - input.Position < total)
        {
            throw Truncated(input.Length - input.Position);
        }

        var data = new byte[total];
        var read = ReadUpTo(input, data, source);
        if (read < total)
        {
            throw Truncated(read);
        }

        return (dims, data);

        InvalidDataException Truncated(long got) =>
            Invalid(source, $"truncated: expected {total} bytes of {kind} ({string.Join(" x ", dims)}) after the header, got {got}");
    }

    /// <summary>A decompressing view of gzip data, or the stream itself for plain data. The caller's stream stays open.</summary>
    private static Stream Decompressed(Stream stream)
    {
        var source = stream;
        if (!source.CanSeek)
        {
            // Peeking at the magic bytes needs a rewind: buffer the data (the whole payload ends up in memory anyway).
            var buffer = new MemoryStream();
            source.CopyTo(buffer);
            buffer.Position = 0;
            source = buffer;
        }

        var start = source.Position;
        Span<byte> head = stackalloc byte[2];
        var isGzip = source.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length
            && head[0] == 0x1F && head[1] == 0x8B;
        source.Position = start;
        return isGzip ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true) : source;
    }

    private static void ReadExactly(Stream input, Span<byte> buffer, string source, string what)
    {
        var read = ReadUpTo(input, buffer, source);
        if (read < buffer.Length)
        {
            throw Invalid(source, $"truncated: expected {buffer.Length} bytes for {what}, got {read}");
        }
    }

    /// <summary>Fills as much of <paramref name="buffer"/> as the stream holds; corrupt gzip data is reported with the file name.</summary>
    private static int ReadUpTo(Stream input, Span<byte> buffer, string source)
    {
        try
        {
            return input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw Invalid(source, $"corrupt compressed data ({e.Message})", e);
        }
    }

    private static InvalidDataException Invalid(string source, string problem, Exception? inner = null) =>
        new($"IDX file {source}: {problem}", inner);
}
