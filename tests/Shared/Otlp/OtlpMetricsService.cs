using Grpc.Core;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Metrics;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>OTLP/gRPC's metrics collector service (opentelemetry.proto.collector.metrics.v1.MetricsService): keeps every metric exported.</summary>
internal sealed class OtlpMetricsService(OtlpStore store) : MetricsService.MetricsServiceBase
{
    /// <inheritdoc/>
    public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
    {
        IReadOnlyList<ReceivedMetric> metrics;
        try
        {
            metrics = OtlpTranslation.Metrics(request, OtlpProtocol.Grpc, DateTimeOffset.UtcNow);
        }
        catch (InvalidDataException e)
        {
            store.Reject($"grpc metrics: {e.Message}");
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }

        store.Add(metrics, OtlpProtocol.Grpc);
        return Task.FromResult(new ExportMetricsServiceResponse());
    }
}
