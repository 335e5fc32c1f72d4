using System.Diagnostics;
using System.Globalization;
using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// The Grafana dashboard and the Prometheus configuration of deploy/ against real processes: a
/// coordinator and two workers (<see cref="MetricsCluster"/>) export what every panel queries, and
/// Debian's Prometheus, scraping them with deploy/prometheus/prometheus.yml (its targets replaced by
/// theirs), stores the run's series and answers every panel's query and variable.
/// </summary>
public sealed class DashboardTests : IClassFixture<MetricsCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly MetricsCluster _cluster;
    private readonly ITestOutputHelper _output;

    public DashboardTests(MetricsCluster cluster, ITestOutputHelper output)
    {
        _cluster = cluster;
        _output = output;
        cluster.Output.Target = output;
        foreach (var line in cluster.Timeline)
        {
            output.WriteLine("[fixture] " + line);
        }
    }

    /// <summary>The dashboard's file.</summary>
    public static string DashboardPath => Path.Combine(MetricsCluster.RepoRoot, "deploy", "grafana", "dashboards", "peerdistill.json");

    /// <summary>deploy/prometheus/prometheus.yml.</summary>
    public static string PrometheusConfigPath => Path.Combine(MetricsCluster.RepoRoot, "deploy", "prometheus", "prometheus.yml");

    [Fact]
    public async Task EveryMetricAndLabelTheDashboardQueries_IsExportedByTheCoordinatorOrAWorker()
    {
        var dashboard = GrafanaDashboard.Load(DashboardPath);
        var scrapes = new List<(string Who, PrometheusExposition Scrape)> { ("coordinator", await MetricsCluster.ScrapeAsync(_cluster.CoordinatorMetrics)) };
        foreach (var (worker, endpoint) in _cluster.WorkerMetrics)
        {
            scrapes.Add((worker, await MetricsCluster.ScrapeAsync(endpoint)));
        }

        foreach (var (who, scrape) in scrapes)
        {
            _output.WriteLine($"{who}: {scrape.Types.Count} families, {scrape.Samples.Count} samples; PeerDistill's: {string.Join(", ", scrape.Types.Keys.Where(k => k.StartsWith("peerdistill_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))}");
        }

        var queries = dashboard.Queries.Select(q => ($"panel '{q.Panel}' {q.RefId}", q.Expr)).ToList();
        foreach (var variable in dashboard.Variables.Where(v => v.Type == "query"))
        {
            var call = GrafanaDashboard.LabelValues(variable.Query);
            Assert.True(call is not null, $"variable '{variable.Name}' is not label_values(selector, label): {variable.Query}");
            queries.Add(($"variable '{variable.Name}'", call.Value.Selector));
            var selectors = PromQl.Read(call.Value.Selector).Selectors;
            Assert.All(selectors, s => Assert.Contains(call.Value.Label, Exporters(scrapes, s.Metric).SelectMany(e => e.Scrape.LabelsOf(e.Scrape.FamilyOf(s.Metric)))));
        }

        var checkedMetrics = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (where, expr) in queries)
        {
            var references = PromQl.Read(expr);
            Assert.True(references.Selectors.Count > 0, $"{where}: no metric read from '{expr}'");
            var labelsOfExpr = new HashSet<string>(["le"], StringComparer.Ordinal);
            foreach (var selector in references.Selectors)
            {
                var exporters = Exporters(scrapes, selector.Metric);
                Assert.True(exporters.Count > 0, $"{where} queries '{selector.Metric}', which neither the coordinator nor a worker exports (in '{expr}')");
                var labels = exporters.SelectMany(e => e.Scrape.LabelsOf(e.Scrape.FamilyOf(selector.Metric))).ToHashSet(StringComparer.Ordinal);
                foreach (var label in selector.Labels)
                {
                    Assert.True(labels.Contains(label), $"{where} matches label '{label}' of '{selector.Metric}', which has only {string.Join(", ", labels.Order(StringComparer.Ordinal))}");
                }

                labelsOfExpr.UnionWith(labels);
                checkedMetrics.Add($"{selector.Metric} ({string.Join("+", exporters.Select(e => e.Who))})");
            }

            foreach (var label in references.GroupingLabels)
            {
                Assert.True(labelsOfExpr.Contains(label), $"{where} groups by '{label}', which none of its metrics has (in '{expr}')");
            }
        }

        _output.WriteLine("checked: " + string.Join("; ", checkedMetrics));

        // The reading found every kind of metric the panels ask for (it is not vacuous).
        var read = queries.SelectMany(q => PromQl.Read(q.Expr).Metrics).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "peerdistill_peer_loss", "peerdistill_peer_accuracy", "peerdistill_step_duration_seconds_bucket", "peerdistill_exchange_wait_seconds_bucket",
                "peerdistill_exchange_sent_bytes_total", "peerdistill_exchange_received_bytes_total", "peerdistill_peer_reactivations_total",
                "peerdistill_placement_failures_total", "peerdistill_exchange_frames_refused_total", "peerdistill_peers",
                "http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket",
            },
            read);
    }

    [Fact]
    public void TheDashboard_IsAGrafanaDashboardWhosePanelsQueryTheProvisionedPrometheus()
    {
        var dashboard = GrafanaDashboard.Load(DashboardPath);
        var root = dashboard.Root;
        Assert.Equal("peerdistill", root.GetProperty("uid").GetString());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.InRange(root.GetProperty("schemaVersion").GetInt32(), 36, 41);

        // ${DS_PROMETHEUS}: a datasource variable of Prometheus datasources, the provisioned one by default.
        var source = Assert.Single(dashboard.Variables, v => v.Type == "datasource");
        Assert.Equal(("DS_PROMETHEUS", "prometheus"), (source.Name, source.Query));
        var templating = root.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        Assert.Equal("prometheus", templating.Single(v => v.GetProperty("name").GetString() == "DS_PROMETHEUS").GetProperty("current").GetProperty("value").GetString());
        foreach (var name in new[] { "cohort", "run" })
        {
            var variable = templating.Single(v => v.GetProperty("name").GetString() == name);
            Assert.Equal("query", variable.GetProperty("type").GetString());
            Assert.True(variable.GetProperty("includeAll").GetBoolean() && variable.GetProperty("multi").GetBoolean(), $"variable '{name}' is not multi-valued with All");
            Assert.Equal(".*", variable.GetProperty("allValue").GetString());
            Assert.Equal("${DS_PROMETHEUS}", variable.GetProperty("datasource").GetProperty("uid").GetString());
        }

        var panels = dashboard.Panels;
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            var grid = panel.GetProperty("gridPos");
            Assert.True(grid.GetProperty("x").GetInt32() >= 0 && grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32() <= 24, $"panel '{title}' lies outside the 24 columns");
            if (panel.GetProperty("type").GetString() == "row")
            {
                continue;
            }

            Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("type").GetString());
            Assert.Equal("${DS_PROMETHEUS}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.NotEmpty(targets);
            Assert.Equal(targets.Count, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"panel '{title}' has an empty query"));
        }

        // The panels the dashboard is for.
        var titles = panels.Select(p => p.GetProperty("title").GetString()!).ToList();
        foreach (var expected in new[] { "Loss per peer", "Accuracy per peer", "Step time per peer (p50, p95)", "Exchange wait per peer (p50, p95)", "Exchange bytes per peer", "Re-activations", "Placement failures", "Refused frames and streams by status code", "Peers by state", "API requests per route", "API latency per route (p50, p95)" })
        {
            Assert.Contains(expected, titles);
        }
    }

    [PrometheusFact]
    public async Task Prometheus_ScrapingTheClusterWithTheDeployedConfiguration_HoldsTheRunsStepCounts_AndAnswersEveryPanel()
    {
        using var dir = new TempDirectory("peerdistill-prometheus-");
        var workers = _cluster.WorkerMetrics;
        var configuration = PrometheusConfiguration(
            new Dictionary<string, IReadOnlyList<Uri>>
            {
                ["peerdistill-coordinator"] = [_cluster.CoordinatorMetrics],
                ["peerdistill-worker"] = [.. workers.Values],
            });
        _output.WriteLine(configuration);
        var clock = Stopwatch.StartNew();
        await using var prometheus = await PrometheusServer.StartAsync(configuration, dir.Path, _output.WriteLine);
        _output.WriteLine($"Prometheus ready at {prometheus.Address} after {clock.Elapsed.TotalSeconds:F1} s");

        // The run's step counts, scraped from the workers, with the run's labels: a series per peer and worker
        // it trained on (a worker goes on exporting the counts of a peer that moved on, e.g. at a resume).
        var query = $"peerdistill_step_duration_seconds_count{{peerdistill_run=\"{_cluster.Run}\"}}";
        var steps = await PollAsync(() => prometheus.QueryAsync(query), s => s.Select(p => p.Labels.GetValueOrDefault("peerdistill_peer")).Distinct().Count() == 2, $"series of both peers of '{query}'");
        _output.WriteLine($"'{query}' answered after {clock.Elapsed.TotalSeconds:F1} s: {string.Join("; ", steps.Select(Describe))}");
        foreach (var series in steps)
        {
            Assert.True(series.Value > 0, Describe(series));
            Assert.Equal((MetricsCluster.Cohort, _cluster.Run, "peerdistill-worker"), (series.Labels["peerdistill_cohort"], series.Labels["peerdistill_run"], series.Labels["job"]));
            Assert.Contains(series.Labels["instance"], workers.Values.Select(u => u.Authority));
        }

        Assert.Equal(["a", "b"], steps.Select(s => s.Labels["peerdistill_peer"]).Distinct().Order(StringComparer.Ordinal));

        // Every panel's query, with All selected (and Grafana's rate interval as four of these scrapes), answers series.
        var dashboard = GrafanaDashboard.Load(DashboardPath);
        var all = new Dictionary<string, string> { ["cohort"] = ".*", ["run"] = ".*", ["__rate_interval"] = "4s" };
        foreach (var panelQuery in dashboard.Queries)
        {
            var expr = PromQl.Expand(panelQuery.Expr, all);
            var answer = await PollAsync(() => prometheus.QueryAsync(expr), s => s.Count > 0, $"panel '{panelQuery.Panel}' {panelQuery.RefId}: series of '{expr}'");
            _output.WriteLine($"panel '{panelQuery.Panel}' {panelQuery.RefId}: {answer.Count} series, e.g. {Describe(answer[0])}");
        }

        // The variables offer the cohort and its run.
        var cohort = LabelValuesOf(dashboard, "cohort");
        Assert.Contains(MetricsCluster.Cohort, await prometheus.LabelValuesAsync(cohort.Label, PromQl.Expand(cohort.Selector, all)));
        var run = LabelValuesOf(dashboard, "run");
        Assert.Contains(_cluster.Run, await prometheus.LabelValuesAsync(run.Label, PromQl.Expand(run.Selector, new Dictionary<string, string> { ["cohort"] = MetricsCluster.Cohort })));
        _output.WriteLine($"done after {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// deploy/prometheus/prometheus.yml with each job's static targets replaced by <paramref name="targets"/>
    /// (the job's list), scraping every second.
    /// </summary>
    private static string PrometheusConfiguration(IReadOnlyDictionary<string, IReadOnlyList<Uri>> targets)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(PrometheusConfigPath))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var global = (YamlMappingNode)root["global"];
        global.Children[new YamlScalarNode("scrape_interval")] = new YamlScalarNode("1s");
        global.Children[new YamlScalarNode("scrape_timeout")] = new YamlScalarNode("1s");
        var jobs = ((YamlSequenceNode)root["scrape_configs"]).Children.Cast<YamlMappingNode>().ToList();
        Assert.Equal(targets.Keys.Order(StringComparer.Ordinal), jobs.Select(j => ((YamlScalarNode)j["job_name"]).Value!).Order(StringComparer.Ordinal));
        foreach (var job in jobs)
        {
            var uris = targets[((YamlScalarNode)job["job_name"]).Value!];
            Assert.All(uris, u => Assert.Equal(((YamlScalarNode)job["metrics_path"]).Value, u.AbsolutePath));
            job.Children[new YamlScalarNode("static_configs")] = new YamlSequenceNode(
                new YamlMappingNode(new YamlScalarNode("targets"), new YamlSequenceNode(uris.Select(u => new YamlScalarNode(u.Authority)))));
        }

        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        yaml.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static (string Selector, string Label) LabelValuesOf(GrafanaDashboard dashboard, string variable) =>
        GrafanaDashboard.LabelValues(dashboard.Variables.Single(v => v.Name == variable).Query) ?? throw new InvalidOperationException($"variable '{variable}' is not label_values(...)");

    /// <summary>The scrapes that export <paramref name="metric"/> (a series of that name, or a histogram family it is a series of).</summary>
    private static List<(string Who, PrometheusExposition Scrape)> Exporters(List<(string Who, PrometheusExposition Scrape)> scrapes, string metric) =>
        scrapes.Where(s => s.Scrape.HasSeries(metric) || (s.Scrape.FamilyOf(metric) != metric && s.Scrape.Types.ContainsKey(s.Scrape.FamilyOf(metric)))).ToList();

    private static string Describe(PrometheusSeries series) =>
        "{" + string.Join(", ", series.Labels.Where(l => l.Key != "otel_scope_version").Select(l => $"{l.Key}=\"{l.Value}\"")) + "} " + series.Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Asks again (every 250 ms, at most <see cref="Patience"/>) until the answer holds; a refused query fails at once.</summary>
    private static async Task<IReadOnlyList<PrometheusSeries>> PollAsync(Func<Task<IReadOnlyList<PrometheusSeries>>> ask, Func<IReadOnlyList<PrometheusSeries>, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var answer = await ask();
            if (done(answer))
            {
                return answer;
            }

            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"no {what} in {Patience.TotalSeconds} s; last answer: {string.Join("; ", answer.Select(Describe))}");
            }

            await Task.Delay(250);
        }
    }
}
