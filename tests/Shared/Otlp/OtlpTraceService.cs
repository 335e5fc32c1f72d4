using Grpc.Core;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Trace;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>OTLP/gRPC's trace collector service (opentelemetry.proto.collector.trace.v1.TraceService): keeps every span exported.</summary>
internal sealed class OtlpTraceService(OtlpStore store) : TraceService.TraceServiceBase
{
    /// <inheritdoc/>
    public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        store.Add(OtlpTranslation.Spans(request, OtlpProtocol.Grpc), OtlpProtocol.Grpc);
        return Task.FromResult(new ExportTraceServiceResponse());
    }
}
