using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Transport;
using Xunit;

namespace PeerDistill.Cluster.Tests.Hosting;

/// <summary>A worker's exchange checks tickets whatever its configuration says: the bench's switch that turns them off is not a setting.</summary>
public sealed class WorkerExchangeTicketsTests
{
    [Fact]
    public void ExchangeTicketsOffInTheConfiguration_IsNotBound_TheWorkerStillChecksTickets()
    {
        var builder = GrpcHosting.CreateBuilder();
        builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.ExchangeTicketsOff)}"] = "true";

        builder.AddPeerDistillWorker(o =>
        {
            o.Coordinator = "127.0.0.1:11111";
            o.Devices = "cpu";
        });

        var registry = (ExchangeRegistry)builder.Services.Single(d => d.ServiceType == typeof(ExchangeRegistry)).ImplementationInstance!;
        Assert.False(registry.TicketsOff);
    }
}
