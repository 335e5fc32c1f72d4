using PeerDistill.Rpc.V1;

namespace PeerDistill.Rpc.Services;

/// <summary>Method descriptors of <c>peerdistill.v1.PeerExchange</c> (protos/peerdistill/v1/exchange.proto).</summary>
public static class PeerExchangeMethods
{
    /// <summary>The fully qualified service name.</summary>
    public const string ServiceName = "peerdistill.v1.PeerExchange";

    /// <summary>The long-lived stream of one sender's logits frames to one receiver, answered by acknowledgements.</summary>
    public static readonly Method<LogitsFrame, ExchangeAck> Exchange = ProtobufMethod.Create<LogitsFrame, ExchangeAck>(MethodType.DuplexStreaming, ServiceName, "Exchange");

    /// <summary>Which peers a worker hosts, at which generation and step.</summary>
    public static readonly Method<ProbeRequest, ProbeReply> Probe = ProtobufMethod.Create<ProbeRequest, ProbeReply>(MethodType.Unary, ServiceName, "Probe");
}
