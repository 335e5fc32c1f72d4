using Google.Protobuf;
using Grpc.Core;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>
/// What a server answers for request bytes that break gRPC's framing or are not the method's
/// message, one status each, the way gRPC implementations answer them: a message beyond the
/// receive limit RESOURCE_EXHAUSTED, everything else INTERNAL (the bytes are not a gRPC request,
/// not a method's argument that could be wrong: INVALID_ARGUMENT stays for messages that parse).
/// The detail says what was wrong with the bytes and nothing of the server.
/// </summary>
internal static class MalformedRequest
{
    /// <summary>The 5-byte prefix of every message: a compressed flag and a big-endian 32-bit length.</summary>
    public const int HeaderSize = 5;

    public static RpcException TooLarge(long length, long limit) =>
        Refuse(StatusCode.ResourceExhausted, $"request message of {length} bytes exceeds the {limit}-byte limit");

    public static RpcException DecompressesTooLarge(string encoding, long limit) =>
        Refuse(StatusCode.ResourceExhausted, $"request message decompresses ({encoding}) to more than the {limit}-byte limit");

    public static RpcException UnknownFlag(byte flag) =>
        Refuse(StatusCode.Internal, $"request message has compressed flag {flag}; only 0 (not compressed) and 1 (compressed) exist");

    public static RpcException CompressedWithoutEncoding(string? encoding) =>
        Refuse(StatusCode.Internal, string.IsNullOrEmpty(encoding)
            ? "request message is compressed (flag 1) but the call names no grpc-encoding"
            : $"request message is compressed (flag 1) but the call's grpc-encoding is '{encoding}'");

    public static RpcException NotDecompressible(string encoding) =>
        Refuse(StatusCode.Internal, $"request message is compressed (flag 1) but is not {encoding} data");

    public static RpcException Truncated(long arrived, long length) =>
        Refuse(StatusCode.Internal, $"request ended inside a message: {arrived} of its {length} bytes arrived");

    public static RpcException TruncatedHeader(long arrived) =>
        Refuse(StatusCode.Internal, $"request ended inside a message header: {arrived} of its {HeaderSize} bytes arrived");

    public static RpcException NoMessage(string method) =>
        Refuse(StatusCode.Internal, $"request carried no message; {method} takes exactly one");

    public static RpcException MoreThanOne(string method) =>
        Refuse(StatusCode.Internal, $"request carried more than one message; {method} takes exactly one");

    public static RpcException NotTheMessage(string message, InvalidProtocolBufferException e) =>
        Refuse(StatusCode.Internal, $"request message is not a {message}: {e.Message}");

    private static RpcException Refuse(StatusCode code, string detail) => new(new Status(code, detail));
}
