using Xunit;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>A fact reported Skipped, with the reason, where Debian's Prometheus server (and its promtool) is not installed.</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (PrometheusServer.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
