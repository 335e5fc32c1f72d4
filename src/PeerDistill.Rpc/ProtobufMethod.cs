using Google.Protobuf;

namespace PeerDistill.Rpc;

/// <summary>Method descriptors for generated Protocol Buffers messages.</summary>
public static class ProtobufMethod
{
    /// <summary>A method of <paramref name="serviceName"/> whose messages are protobuf messages.</summary>
    public static Method<TRequest, TResponse> Create<TRequest, TResponse>(MethodType type, string serviceName, string name)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new() =>
        new(type, serviceName, name, Marshallers.Protobuf<TRequest>(), Marshallers.Protobuf<TResponse>());
}
