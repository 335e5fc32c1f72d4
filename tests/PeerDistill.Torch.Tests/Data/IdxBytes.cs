using System.Buffers.Binary;
using System.IO.Compression;

namespace PeerDistill.Torch.Tests.Data;

/// <summary>Builds IDX file contents for tests.</summary>
internal static class IdxBytes
{
    /// <summary>A uint8 image file whose pixel i of image n is (n * 31 + i) mod 256.</summary>
    public static byte[] Images(int count, int rows, int columns)
    {
        var pixels = new byte[count * rows * columns];
        for (var n = 0; n < count; n++)
        {
            for (var i = 0; i < rows * columns; i++)
            {
                pixels[n * rows * columns + i] = (byte)((n * 31 + i) % 256);
            }
        }

        return File(0x00000803, [count, rows, columns], pixels);
    }

    public static byte[] Labels(params byte[] labels) => File(0x00000801, [labels.Length], labels);

    public static byte[] File(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (var i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        }

        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
