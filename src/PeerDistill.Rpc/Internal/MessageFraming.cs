using System.Buffers.Binary;

namespace PeerDistill.Rpc.Internal;

/// <summary>
/// gRPC's length-prefixed messages: a compressed flag byte, a 4-byte big-endian length, then the
/// message. Reading enforces the receive limit before the message is read, so a peer announcing a
/// huge message costs nothing.
/// </summary>
internal static class MessageFraming
{
    /// <summary>Frames <paramref name="payload"/>, compressed with <paramref name="compression"/> when given.</summary>
    public static byte[] Frame(byte[] payload, ICompressionProvider? compression)
    {
        if (compression is null)
        {
            var framed = new byte[GrpcProtocol.HeaderSize + payload.Length];
            framed[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
            payload.CopyTo(framed, GrpcProtocol.HeaderSize);
            return framed;
        }

        using var buffer = new MemoryStream(payload.Length / 2 + 64);
        buffer.Write(stackalloc byte[GrpcProtocol.HeaderSize]);
        using (var z = compression.CreateCompressionStream(buffer))
        {
            z.Write(payload);
        }

        var result = buffer.ToArray();
        result[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(1), (uint)(result.Length - GrpcProtocol.HeaderSize));
        return result;
    }

    /// <summary>
    /// Reads the next message of <paramref name="stream"/>; null at a clean end of stream (between
    /// messages). Protocol violations throw <see cref="RpcException"/> (Internal, ResourceExhausted).
    /// </summary>
    public static async ValueTask<byte[]?> ReadAsync(Stream stream, int? maxSize, ICompressionProvider? decompression, byte[] header, CancellationToken cancellationToken)
    {
        var got = await ReadFullyAsync(stream, header.AsMemory(0, GrpcProtocol.HeaderSize), cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < GrpcProtocol.HeaderSize)
        {
            throw new RpcException(StatusCode.Internal, $"Incomplete message: the stream ended after {got} of the 5 bytes of a message header.");
        }

        var flag = header[0];
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid message header: compressed flag is {flag} (must be 0 or 1).");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (maxSize is { } limit && length > (uint)limit)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {limit})");
        }

        if (length > int.MaxValue - 64)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {int.MaxValue - 64})");
        }

        if (flag == 1 && decompression is null)
        {
            throw new RpcException(StatusCode.Internal, "Received a compressed message but the call has no grpc-encoding (or it is 'identity').");
        }

        var payload = new byte[length];
        var read = await ReadFullyAsync(stream, payload, cancellationToken).ConfigureAwait(false);
        if (read < length)
        {
            throw new RpcException(StatusCode.Internal, $"Incomplete message: the stream ended after {read} of {length} message bytes.");
        }

        return flag == 1 ? Decompress(payload, decompression!, maxSize) : payload;
    }

    private static byte[] Decompress(byte[] payload, ICompressionProvider decompression, int? maxSize)
    {
        try
        {
            using var source = new MemoryStream(payload, writable: false);
            using var z = decompression.CreateDecompressionStream(source);
            // An initial guess only (it grows): payload.Length * 4 would overflow for messages over 512 MiB.
            using var output = new MemoryStream((int)Math.Min((long)payload.Length * 4, Math.Min((long?)maxSize ?? long.MaxValue, 64L * 1024 * 1024)));
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = z.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, n);
                if (maxSize is { } limit && output.Length > limit)
                {
                    throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max after decompression (more than {limit} bytes)");
                }
            }

            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new RpcException(StatusCode.Internal, $"Failed to decompress a '{decompression.EncodingName}' message: {e.Message}");
        }
    }

    private static async ValueTask<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
