using System.Runtime.InteropServices;
using Google.Protobuf;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>Logits on the wire: packed little-endian fp32 (exact) or fp16 (half the bytes).</summary>
public static class WireCodec
{
    /// <summary>The wire dtype named in a spec (<c>fp32</c>, <c>fp16</c>).</summary>
    public static WireDType Parse(string name) => name switch
    {
        "fp32" => WireDType.Fp32,
        "fp16" => WireDType.Fp16,
        _ => throw new ArgumentException($"unknown wire dtype '{name}' (known: fp32, fp16)", nameof(name)),
    };

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
