using System.Runtime.InteropServices;
using Google.Protobuf;
using PeerDistill.Core.Exchange;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// Logits on the wire: packed little-endian fp32 (exact), fp16 (half the bytes), or top-k sparse
/// rows (k fp32 log-probabilities and k uint8/uint16/uint32 classes per row; see <see cref="SparseLogits"/>
/// for what the receiver reconstructs, and exchange.proto for the layout).
/// </summary>
public static class WireCodec
{
    /// <summary>
    /// The most bytes of a frame's other fields (names, run id, shape, step numbers) a frame size
    /// check allows for beside its values and indices: names are at most 100 characters.
    /// </summary>
    public const int FrameOverheadBytes = 4096;

    /// <summary>The least allowed sum of a top-k row's probabilities above 1 (rounding of fp32 log-probabilities).</summary>
    public const double MassTolerance = 1e-3;

    /// <summary>The wire dtype named in a spec (<c>fp32</c>, <c>fp16</c>, <c>topk</c>).</summary>
    public static WireDType Parse(string name) => name switch
    {
        "fp32" => WireDType.Fp32,
        "fp16" => WireDType.Fp16,
        "topk" => WireDType.Topk,
        _ => throw new ArgumentException($"unknown wire dtype '{name}' (known: fp32, fp16, topk)", nameof(name)),
    };

    /// <summary>The wire dtype of a wire form.</summary>
    public static WireDType DTypeOf(LogitWireFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return format.Encoding switch
        {
            LogitEncoding.Fp32 => WireDType.Fp32,
            LogitEncoding.Fp16 => WireDType.Fp16,
            _ => WireDType.Topk,
        };
    }

    /// <summary>The wire value of a rest mode.</summary>
    public static TopKRest ToWire(RestMass rest) => rest == RestMass.Drop ? TopKRest.Drop : TopKRest.Uniform;

    /// <summary>Bytes per class index in a top-k frame of <paramref name="classes"/> classes: the smallest unsigned integer that holds classes - 1 (1 up to 256 classes, 2 up to 65536, else 4).</summary>
    public static int IndexWidth(int classes) => classes <= 256 ? 1 : classes <= 65536 ? 2 : 4;

    /// <summary>Bytes of values and indices a frame of <paramref name="batch"/> rows of <paramref name="classes"/> carries in <paramref name="format"/>.</summary>
    public static long PayloadBytes(int batch, int classes, LogitWireFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return format.Encoding switch
        {
            LogitEncoding.Fp32 => (long)batch * classes * 4,
            LogitEncoding.Fp16 => (long)batch * classes * 2,
            _ => (long)batch * format.K * (4 + IndexWidth(classes)),
        };
    }

    /// <summary>
    /// Why frames of <paramref name="batch"/> rows of <paramref name="classes"/> in
    /// <paramref name="format"/> cannot go through a gRPC exchange whose messages are limited to
    /// <paramref name="maxMessageBytes"/>, naming the spec fields that decide it; null if they fit.
    /// </summary>
    public static string? TooLarge(int batch, int classes, LogitWireFormat format, int maxMessageBytes)
    {
        var bytes = PayloadBytes(batch, classes, format) + FrameOverheadBytes;
        if (bytes <= maxMessageBytes)
        {
            return null;
        }

        var hint = format.Encoding == LogitEncoding.TopK ? "a smaller exchange.topk or data.batch_size" : "exchange.wire_dtype fp16 or topk, or a smaller data.batch_size";
        return $"exchange.wire_dtype: a logits frame of data.batch_size {batch} x {classes} classes as {format} carries {PayloadBytes(batch, classes, format):N0} bytes, "
            + $"more than the exchange's gRPC message limit of {maxMessageBytes:N0} bytes (less {FrameOverheadBytes} for the frame's other fields); use {hint}";
    }

    /// <summary>
    /// Top-k rows of row-major [rows, <paramref name="classes"/>] logits: the fp32 log-probabilities
    /// and the classes, packed for the wire (<see cref="SparseLogits.Select"/>).
    /// </summary>
    public static (ByteString Values, ByteString Indices) EncodeTopK(ReadOnlySpan<float> logits, int classes, int k)
    {
        CheckLittleEndian();
        var n = logits.Length / classes * k;
        var values = new float[n];
        var indices = new int[n];
        SparseLogits.Select(logits, classes, k, values, indices);
        byte[] packed;
        if (IndexWidth(classes) == 1)
        {
            packed = new byte[n];
            for (var i = 0; i < n; i++)
            {
                packed[i] = (byte)indices[i];
            }
        }
        else if (IndexWidth(classes) == 2)
        {
            var narrow = new ushort[n];
            for (var i = 0; i < n; i++)
            {
                narrow[i] = (ushort)indices[i];
            }

            packed = MemoryMarshal.AsBytes(narrow.AsSpan()).ToArray();
        }
        else
        {
            packed = MemoryMarshal.AsBytes(indices.AsSpan()).ToArray();
        }

        return (ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())), UnsafeByteOperations.UnsafeWrap(packed));
    }

    /// <summary>
    /// Checks the values and indices of a top-k frame of <paramref name="batch"/> rows (byte counts,
    /// finite log-probabilities at most 0 and within <paramref name="maxAbs"/>, each row's mass at most
    /// 1 + <see cref="MassTolerance"/>, classes in range and unique within a row) and reconstructs
    /// the dense rows (<see cref="SparseLogits.Densify"/>); or says what is wrong (<paramref name="dense"/> empty).
    /// </summary>
    public static string? DecodeTopK(ReadOnlySpan<byte> values, ReadOnlySpan<byte> indices, int batch, int classes, int k, RestMass rest, double maxAbs, out float[] dense)
    {
        CheckLittleEndian();
        dense = [];
        var n = (long)batch * k;
        var width = IndexWidth(classes);
        if (values.Length != n * 4)
        {
            return $"has {values.Length} bytes of values; expected {n * 4} ({batch} rows x topk {k} x 4)";
        }

        if (indices.Length != n * width)
        {
            return $"has {indices.Length} bytes of indices; expected {n * width} ({batch} rows x topk {k} x {width})";
        }

        var v = MemoryMarshal.Cast<byte, float>(values);
        var idx = new int[n];
        if (width == 1)
        {
            for (var i = 0; i < n; i++)
            {
                idx[i] = indices[i];
            }
        }
        else if (width == 2)
        {
            var narrow = MemoryMarshal.Cast<byte, ushort>(indices);
            for (var i = 0; i < n; i++)
            {
                idx[i] = narrow[i];
            }
        }
        else
        {
            var wide = MemoryMarshal.Cast<byte, uint>(indices);
            for (var i = 0; i < n; i++)
            {
                if (wide[i] >= (uint)classes)
                {
                    return $"has class index {wide[i]} at row {i / k}, outside [0, {classes})";
                }

                idx[i] = (int)wide[i];
            }
        }

        // Rows are short (k entries): a seen-set per row, cleared by the row's own indices.
        var seen = new bool[classes];
        for (var r = 0; r < batch; r++)
        {
            var mass = 0.0;
            for (var i = r * k; i < (r + 1) * k; i++)
            {
                var x = v[i];
                if (!(x <= 0) || !(Math.Abs(x) <= maxAbs))
                {
                    var what = float.IsFinite(x) ? x > 0 ? "a positive log-probability" : $"a value beyond the cohort's bound of {maxAbs:G3} (exchange.max_abs_logit)" : "a non-finite value";
                    return $"has {what} ({x}) at row {r}, entry {i - (r * k)}";
                }

                mass += Math.Exp(x);
                var c = idx[i];
                if (c >= classes)
                {
                    return $"has class index {c} at row {r}, outside [0, {classes})";
                }

                if (seen[c])
                {
                    return $"has class {c} twice in row {r}";
                }

                seen[c] = true;
            }

            for (var i = r * k; i < (r + 1) * k; i++)
            {
                seen[idx[i]] = false;
            }

            if (mass > 1 + MassTolerance)
            {
                return $"has probabilities summing to {mass:G6} in row {r}; log-probabilities of one row sum to at most 1";
            }
        }

        dense = SparseLogits.Densify(v, idx, classes, k, rest);
        return null;
    }

    private static void CheckLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the logits wire format is little-endian");
        }
    }

    /// <summary>Bytes per value of <paramref name="dtype"/>; 0 for an unknown one.</summary>
    public static int SizeOf(WireDType dtype) => dtype switch
    {
        WireDType.Fp32 => 4,
        WireDType.Fp16 => 2,
        _ => 0,
    };

    /// <summary>Packs <paramref name="values"/> as <paramref name="dtype"/>.</summary>
    public static ByteString Encode(ReadOnlySpan<float> values, WireDType dtype)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the logits wire format is little-endian");
        }

        switch (dtype)
        {
            case WireDType.Fp32:
                return ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
            case WireDType.Fp16:
                var half = new Half[values.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    half[i] = (Half)values[i];
                }

                return ByteString.CopyFrom(MemoryMarshal.AsBytes(half.AsSpan()));
            default:
                throw new ArgumentException($"cannot encode logits as {dtype}", nameof(dtype));
        }
    }

    /// <summary>Unpacks <paramref name="bytes"/> of <paramref name="dtype"/> into floats; the length must already be checked.</summary>
    public static float[] Decode(ReadOnlySpan<byte> bytes, WireDType dtype)
    {
        switch (dtype)
        {
            case WireDType.Fp32:
                return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case WireDType.Fp16:
                var half = MemoryMarshal.Cast<byte, Half>(bytes);
                var result = new float[half.Length];
                for (var i = 0; i < half.Length; i++)
                {
                    result[i] = (float)half[i];
                }

                return result;
            default:
                throw new ArgumentException($"cannot decode logits of {dtype}", nameof(dtype));
        }
    }

    /// <summary>The index of the first NaN or infinite value, or of magnitude above <paramref name="maxAbs"/>, or -1.</summary>
    public static int FirstOutside(ReadOnlySpan<float> values, double maxAbs)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!(Math.Abs(values[i]) <= maxAbs))
            {
                return i;
            }
        }

        return -1;
    }
}
