using System.Diagnostics;
using PeerDistill.Cluster.Hosting;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// The shape of the Prometheus and Grafana files under deploy/ that the compose file mounts: Grafana's
/// datasource and dashboard provisioning, and prometheus.yml (checked by promtool too).
/// </summary>
public sealed class DeployFilesTests
{
    private static string Deploy => Path.Combine(MetricsCluster.RepoRoot, "deploy");

    [Fact]
    public void GrafanasProvisioning_DefinesThePrometheusOfTheDashboard_AndLoadsTheDashboardsFolder()
    {
        var sources = Load(Path.Combine(Deploy, "grafana", "provisioning", "datasources", "prometheus.yaml"));
        Assert.Equal("1", Scalar(sources, "apiVersion"));
        var source = (YamlMappingNode)Assert.Single(((YamlSequenceNode)sources["datasources"]).Children);
        Assert.Equal("prometheus", Scalar(source, "type"));
        Assert.Equal("proxy", Scalar(source, "access"));
        Assert.True(Uri.TryCreate(Scalar(source, "url"), UriKind.Absolute, out var url) && url.Scheme is "http" or "https", $"datasource url '{Scalar(source, "url")}'");
        Assert.Equal("true", Scalar(source, "isDefault"));

        // The dashboard's ${DS_PROMETHEUS} defaults to this datasource's uid; its rate intervals follow the scrape interval.
        var dashboard = GrafanaDashboard.Load(DashboardTests.DashboardPath);
        var current = dashboard.Root.GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "DS_PROMETHEUS").GetProperty("current").GetProperty("value").GetString();
        Assert.Equal(current, Scalar(source, "uid"));
        var scrape = Load(DashboardTests.PrometheusConfigPath);
        Assert.Equal(Scalar((YamlMappingNode)scrape["global"], "scrape_interval"), Scalar((YamlMappingNode)source["jsonData"], "timeInterval"));

        var dashboards = Load(Path.Combine(Deploy, "grafana", "provisioning", "dashboards", "peerdistill.yaml"));
        Assert.Equal("1", Scalar(dashboards, "apiVersion"));
        var provider = (YamlMappingNode)Assert.Single(((YamlSequenceNode)dashboards["providers"]).Children);
        Assert.Equal("file", Scalar(provider, "type"));
        Assert.False(string.IsNullOrWhiteSpace(Scalar(provider, "name")));
        Assert.StartsWith("/", Scalar((YamlMappingNode)provider["options"], "path"), StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(DashboardTests.DashboardPath), Directory.GetFiles(Path.GetDirectoryName(DashboardTests.DashboardPath)!).Select(Path.GetFileName));
    }

    [Fact]
    public void PrometheusYml_ScrapesTheCoordinatorAndTwoWorkers_AtTheirMetricsEndpoints()
    {
        var config = Load(DashboardTests.PrometheusConfigPath);
        var global = (YamlMappingNode)config["global"];
        Assert.Matches("^[0-9]+s$", Scalar(global, "scrape_interval"));
        var jobs = ((YamlSequenceNode)config["scrape_configs"]).Children.Cast<YamlMappingNode>().ToDictionary(j => Scalar(j, "job_name"), StringComparer.Ordinal);
        Assert.Equal(["peerdistill-coordinator", "peerdistill-worker"], jobs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["coordinator:9464"], Targets(jobs["peerdistill-coordinator"]));
        Assert.Equal(["worker-1:9464", "worker-2:9464"], Targets(jobs["peerdistill-worker"]));
        Assert.All(jobs.Values, j => Assert.Equal(TelemetryHosting.MetricsPath, Scalar(j, "metrics_path")));

        // The job names are the processes' service names (target_info's service_name).
        Assert.Equal(
            [TelemetryHosting.ServiceName("coordinator"), TelemetryHosting.ServiceName("worker")],
            jobs.Keys.Order(StringComparer.Ordinal));
    }

    [PrometheusFact]
    public async Task PrometheusYml_PassesPromtoolsCheck()
    {
        var info = new ProcessStartInfo(PrometheusServer.Promtool, ["check", "config", DashboardTests.PrometheusConfigPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var promtool = Process.Start(info)!;
        var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();
        Assert.True(promtool.ExitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    private static YamlMappingNode Load(string path) => PeerDistill.Cli.Tests.Deploy.DeployTools.LoadYaml(path);

    private static string Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode { Value: { } text } ? text : throw new Xunit.Sdk.XunitException($"no scalar '{key}' in {node.Start}");

    private static List<string> Targets(YamlMappingNode job) =>
        [.. ((YamlSequenceNode)job["static_configs"]).Children.Cast<YamlMappingNode>()
            .SelectMany(c => ((YamlSequenceNode)c["targets"]).Children.Cast<YamlScalarNode>().Select(t => t.Value!))
            .Order(StringComparer.Ordinal)];
}
