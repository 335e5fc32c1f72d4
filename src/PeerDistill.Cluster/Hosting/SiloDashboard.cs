using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Dashboard;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// The Orleans dashboard's part on every silo (Microsoft.Orleans.Dashboard): a grain service that
/// samples the silo's runtime statistics, a grain call filter that profiles grain methods while
/// someone looks at the dashboard (it turns itself off a minute after the last look), and an exporter
/// of Orleans' meter. The coordinator serves the dashboard's pages (<c>/orleans</c>); a silo without
/// this part still shows in it (membership, activation counts) but without its CPU, memory, counters
/// and method profile, which the dashboard asks each silo's grain service for.
/// <para>
/// Idle cost, measured side by side on a 2-core machine (an idle coordinator and worker per variant,
/// 120 s windows, 2 to 4 rounds; the same baseline spreads over 2.7% to 4.4% of a core between
/// rounds): with the package's export of Orleans' meter every second (sampling at 5 s), the
/// coordinator went from 3.0% to 4.5% of a core and the worker from 3.2% to 4.0%; with both every
/// 5 s, +0.6 and +0.5 points; with both every 10 s (<see cref="CounterUpdateInterval"/>,
/// <see cref="TelemetryExportInterval"/>), +0.2 and +0.4 points, within that spread.
/// </para>
/// </summary>
public static class SiloDashboard
{
    /// <summary>
    /// How often each silo samples its runtime statistics (a call to Orleans' management grain), and
    /// how often the dashboard's counters (activations per grain type and silo) are recomputed at
    /// most. The package's default is 1 s; 10 s keeps an idle silo's cost within the measurement's
    /// spread, and the dashboard's history (<see cref="HistoryLength"/> samples) at about 17 minutes.
    /// </summary>
    public static readonly TimeSpan CounterUpdateInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often each silo exports Orleans' meter (message counts and sizes, connected clients, ...)
    /// to the dashboard's counters page. The package exports every second and has no option for it:
    /// <see cref="AddPeerDistillDashboard"/> sets its host's <see cref="ExportIntervalProperty"/>
    /// (documented in the package, internal), and leaves the package's second where a later version
    /// lacks it (<see cref="ExportIntervalSet"/> says which).
    /// </summary>
    public static readonly TimeSpan TelemetryExportInterval = TimeSpan.FromSeconds(10);

    /// <summary>The package's hosted service that exports Orleans' meter to the dashboard.</summary>
    internal const string DashboardHostType = "Orleans.Dashboard.DashboardHost";

    /// <summary>Its export interval (milliseconds; <c>init</c>), read once when it starts the export.</summary>
    internal const string ExportIntervalProperty = "ExportIntervalMilliseconds";

    /// <summary>Samples of history the dashboard keeps per series (the package's default).</summary>
    public const int HistoryLength = 100;

    /// <summary>
    /// The dashboard's logger provider, which would stream every log line of the silo to any
    /// dashboard viewer (its "log stream" page). PeerDistill turns that page off (a reader of runs
    /// has no business reading the coordinator's logs) and drops the provider from logging.
    /// </summary>
    internal const string LoggerProviderName = "Orleans.Dashboard.Implementation.DashboardLogger";

    /// <summary>
    /// The dashboard's silo services, with the log stream off, the sampling of
    /// <see cref="CounterUpdateInterval"/> and the export of <see cref="TelemetryExportInterval"/>.
    /// </summary>
    public static ISiloBuilder AddPeerDistillDashboard(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddDashboard(o =>
        {
            o.HideTrace = true;
            o.CounterUpdateIntervalMs = (int)CounterUpdateInterval.TotalMilliseconds;
            o.HistoryLength = HistoryLength;
        });
        SetExportInterval(silo.Services, TelemetryExportInterval);
        silo.Services.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(LoggerProviderName, null, LogLevel.None, null)));
        return silo;
    }

    /// <summary>Whether <paramref name="host"/> (the package's <see cref="DashboardHostType"/>) exports every <see cref="TelemetryExportInterval"/>.</summary>
    internal static bool ExportIntervalSet(object host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return ExportInterval(host.GetType())?.GetValue(host) is int ms && ms == (int)TelemetryExportInterval.TotalMilliseconds;
    }

    /// <summary>Registers the package's host so that it is made with <paramref name="interval"/> as its export interval.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Orleans.Dashboard is kept whole in the trimmed publish (TrimmerRootAssembly): its host's constructor and property are there.")]
    private static void SetExportInterval(IServiceCollection services, TimeSpan interval)
    {
        var index = services.ToList().FindIndex(d => d.ServiceType.FullName == DashboardHostType && d.ImplementationType is not null);
        if (index < 0 || ExportInterval(services[index].ServiceType) is not { } property)
        {
            return;
        }

        var type = services[index].ImplementationType!;
        var milliseconds = (int)interval.TotalMilliseconds;
        services[index] = ServiceDescriptor.Singleton(services[index].ServiceType, provider =>
        {
            var host = ActivatorUtilities.CreateInstance(provider, type);
            property.SetValue(host, milliseconds);
            return host;
        });
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Orleans.Dashboard is kept whole in the trimmed publish (TrimmerRootAssembly).")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Orleans.Dashboard is kept whole in the trimmed publish (TrimmerRootAssembly).")]
    private static PropertyInfo? ExportInterval(Type type) =>
        type.GetProperty(ExportIntervalProperty, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic) is { PropertyType: var t, CanWrite: true } p && t == typeof(int) ? p : null;
}
