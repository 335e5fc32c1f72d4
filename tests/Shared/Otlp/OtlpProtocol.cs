namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>The OTLP transports <see cref="OtlpReceiver"/> serves (the values of OTEL_EXPORTER_OTLP_PROTOCOL).</summary>
public enum OtlpProtocol
{
    /// <summary>OTLP/gRPC (<c>grpc</c>): HTTP/2 cleartext on <see cref="OtlpReceiver.OtlpGrpcEndpoint"/>.</summary>
    Grpc,

    /// <summary>OTLP/HTTP with protobuf bodies (<c>http/protobuf</c>): HTTP/1.1 POST /v1/traces and /v1/metrics on <see cref="OtlpReceiver.OtlpHttpEndpoint"/>.</summary>
    HttpProtobuf,
}
