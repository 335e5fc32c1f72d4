using Google.Protobuf;

namespace PeerDistill.Rpc;

/// <summary>Turns messages of type <typeparamref name="T"/> into bytes and back.</summary>
/// <param name="Serializer">Writes a message as bytes.</param>
/// <param name="Deserializer">Reads a message from bytes; throws on malformed input.</param>
public sealed record Marshaller<T>(Func<T, byte[]> Serializer, Func<ReadOnlyMemory<byte>, T> Deserializer);

/// <summary>Marshallers for generated Protocol Buffers messages.</summary>
public static class Marshallers
{
    /// <summary>The marshaller of protobuf message type <typeparamref name="T"/>.</summary>
    public static Marshaller<T> Protobuf<T>()
        where T : IMessage<T>, new() => ProtobufMarshaller<T>.Instance;

    private static class ProtobufMarshaller<T>
        where T : IMessage<T>, new()
    {
        private static readonly MessageParser<T> Parser = new(() => new T());

        public static readonly Marshaller<T> Instance = new(m => m.ToByteArray(), bytes => Parser.ParseFrom(bytes.Span));
    }
}
