using System.Buffers.Binary;
using System.IO.Compression;

namespace PeerDistill.Cli.Tests.Browser;

/// <summary>
/// A PNG decoded just enough to judge a screenshot: its size, and its pixels (8-bit RGB or RGBA, not
/// interlaced, as Chromium writes them), to count colours. Anything else is refused with the reason.
/// </summary>
internal sealed class PngImage
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly byte[] _pixels;
    private readonly int _channels;

    private PngImage(int width, int height, int channels, byte[] pixels)
    {
        Width = width;
        Height = height;
        _channels = channels;
        _pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Decodes <paramref name="png"/>.</summary>
    /// <exception cref="InvalidDataException">Not a PNG, or one of another kind than a screenshot's.</exception>
    public static PngImage Decode(byte[] png)
    {
        if (png.Length < Signature.Length || !png.AsSpan(0, Signature.Length).SequenceEqual(Signature))
        {
            throw new InvalidDataException("not a PNG: the signature is missing");
        }

        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        for (var at = Signature.Length; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
                height = (int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                var (depth, colour, interlace) = (data[8], data[9], data[12]);
                channels = colour switch
                {
                    2 => 3,
                    6 => 4,
                    _ => throw new InvalidDataException($"PNG colour type {colour} is not RGB or RGBA"),
                };
                if (depth != 8 || interlace != 0)
                {
                    throw new InvalidDataException($"PNG of bit depth {depth}, interlace {interlace}: only 8-bit, not interlaced");
                }
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }
            else if (type == "IEND")
            {
                break;
            }

            at += 12 + length;
        }

        if (width <= 0 || height <= 0)
        {
            throw new InvalidDataException("PNG without a header (IHDR)");
        }

        compressed.Position = 0;
        using var inflate = new ZLibStream(compressed, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        inflate.CopyTo(raw);
        var stride = width * channels;
        var scanlines = raw.GetBuffer().AsSpan(0, (int)raw.Length);
        if (scanlines.Length != height * (stride + 1))
        {
            throw new InvalidDataException($"PNG data of {scanlines.Length} bytes for {width}x{height}x{channels}");
        }

        var pixels = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = scanlines[y * (stride + 1)];
            var line = scanlines.Slice(y * (stride + 1) + 1, stride);
            var current = pixels.AsSpan(y * stride, stride);
            var previous = y > 0 ? pixels.AsSpan((y - 1) * stride, stride) : default;
            for (var i = 0; i < stride; i++)
            {
                int a = i >= channels ? current[i - channels] : 0;
                int b = y > 0 ? previous[i] : 0;
                int c = i >= channels && y > 0 ? previous[i - channels] : 0;
                current[i] = (byte)(line[i] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG filter type {filter}"),
                });
            }
        }

        return new PngImage(width, height, channels, pixels);
    }

    /// <summary>How many distinct colours (RGB) the image has, counting at most <paramref name="limit"/>.</summary>
    public int DistinctColours(int limit = 100_000)
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < _pixels.Length && seen.Count < limit; i += _channels)
        {
            seen.Add((_pixels[i] << 16) | (_pixels[i + 1] << 8) | _pixels[i + 2]);
        }

        return seen.Count;
    }

    /// <summary>The share of pixels whose colour differs from the most common one (the background).</summary>
    public double ShareNotBackground()
    {
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < _pixels.Length; i += _channels)
        {
            var colour = (_pixels[i] << 16) | (_pixels[i + 1] << 8) | _pixels[i + 2];
            counts[colour] = counts.GetValueOrDefault(colour) + 1;
        }

        var total = _pixels.Length / _channels;
        return 1.0 - (double)counts.Values.Max() / total;
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var (pa, pb, pc) = (Math.Abs(p - a), Math.Abs(p - b), Math.Abs(p - c));
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
