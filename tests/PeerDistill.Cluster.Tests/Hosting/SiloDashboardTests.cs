using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using PeerDistill.Cluster.Hosting;
using Xunit;

namespace PeerDistill.Cluster.Tests.Hosting;

/// <summary>The Orleans dashboard's part on a silo, as PeerDistill sets it up (built, not started).</summary>
public sealed class SiloDashboardTests
{
    [Fact]
    public void AddPeerDistillDashboard_SamplesAndExportsEvery10s_WithTheLogStreamOff()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddPeerDistillDashboard());
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<DashboardOptions>>().Value;
        Assert.True(options.HideTrace);
        Assert.Equal(SiloDashboard.CounterUpdateInterval.TotalMilliseconds, options.CounterUpdateIntervalMs);

        // The package's exporter of Orleans' meter, made with PeerDistill's interval (a package that
        // renames the property would leave it at a second: this says so).
        var type = typeof(DashboardOptions).Assembly.GetType(SiloDashboard.DashboardHostType);
        Assert.NotNull(type);
        var exporter = host.Services.GetRequiredService(type);
        Assert.True(SiloDashboard.ExportIntervalSet(exporter), $"{SiloDashboard.DashboardHostType}.{SiloDashboard.ExportIntervalProperty} is not {SiloDashboard.TelemetryExportInterval.TotalMilliseconds} ms");
        Assert.Same(exporter, host.Services.GetServices<IHostedService>().Single(s => s.GetType() == type));

        // The dashboard's logger provider gets no log line.
        Assert.Contains(host.Services.GetRequiredService<IOptions<LoggerFilterOptions>>().Value.Rules, r => r.ProviderName == SiloDashboard.LoggerProviderName && r.LogLevel == LogLevel.None);
    }
}
