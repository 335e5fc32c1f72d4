using PeerDistill.Rpc.Testing.V1;

namespace PeerDistill.Rpc.Tests.Support;

/// <summary>Descriptors of the test-only <c>peerdistill.testing.v1.Interop</c> service.</summary>
internal static class InteropMethods
{
    public const string ServiceName = "peerdistill.testing.v1.Interop";

    public static readonly Method<EchoRequest, EchoReply> Unary = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.Unary, ServiceName, "Unary");

    public static readonly Method<EchoRequest, EchoReply> ServerStream = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.ServerStreaming, ServiceName, "ServerStream");

    public static readonly Method<EchoRequest, EchoReply> ClientStream = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.ClientStreaming, ServiceName, "ClientStream");

    public static readonly Method<EchoRequest, EchoReply> Bidi = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.DuplexStreaming, ServiceName, "Bidi");
}
