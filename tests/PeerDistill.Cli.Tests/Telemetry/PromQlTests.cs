using Xunit;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>The reading of metric and label names out of PromQL that <see cref="DashboardTests"/> relies on.</summary>
public sealed class PromQlTests
{
    [Theory]
    [InlineData("up", "up")]
    [InlineData("peerdistill_peer_loss{peerdistill_cohort=~\"$cohort\", peerdistill_run=~\"$run\"}", "peerdistill_peer_loss")]
    [InlineData("histogram_quantile(0.95, sum by (le, peerdistill_peer) (rate(peerdistill_step_duration_seconds_bucket{peerdistill_run=~\"$run\"}[$__rate_interval])))", "peerdistill_step_duration_seconds_bucket")]
    [InlineData("sum without (instance) (rate(a_total[5m] offset 1h)) / on (job) group_left (x) b_count", "a_total,b_count")]
    [InlineData("{__name__=\"peerdistill_peers\", peerdistill_state!=\"running\"} > bool 0", "peerdistill_peers")]
    [InlineData("max(foo:bar:rate5m) or vector(0) unless count(baz) and 1e-3 * 2", "foo:bar:rate5m,baz")]
    [InlineData("label_replace(x_total, \"dst\", \"$1\", \"src\", \"(sum|rate)(.*)\")", "x_total")]
    public void MetricNames_AreTheSelectorsNotFunctionsKeywordsStringsOrLabels(string expr, string metrics)
    {
        Assert.Equal(metrics.Split(','), PromQl.Read(expr).Metrics);
    }

    [Fact]
    public void LabelNames_OfMatchersAndGroupings_AreKeptApart()
    {
        var read = PromQl.Read("sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{http_route=~\"/api/.+\", job!=\"x\"}[1m])) / ignoring(le) y");
        Assert.Equal([new PromQlSelector("http_server_request_duration_seconds_bucket", ["http_route", "job"]), new PromQlSelector("y", [])], read.Selectors, new SelectorComparer());
        Assert.Equal(["le", "http_route"], read.GroupingLabels);
    }

    [Fact]
    public void Expand_PutsInGrafanasVariables_LongerNamesFirst()
    {
        var values = new Dictionary<string, string> { ["run"] = "r1", ["run_all"] = ".*", ["__rate_interval"] = "4s" };
        Assert.Equal("a{r=~\"r1\", s=~\".*\", t=\"r1\"}[4s]", PromQl.Expand("a{r=~\"$run\", s=~\"${run_all}\", t=\"[[run]]\"}[$__rate_interval]", values));
    }

    private sealed class SelectorComparer : IEqualityComparer<PromQlSelector>
    {
        public bool Equals(PromQlSelector? x, PromQlSelector? y) => x is not null && y is not null && x.Metric == y.Metric && x.Labels.SequenceEqual(y.Labels);

        public int GetHashCode(PromQlSelector obj) => obj.Metric.GetHashCode(StringComparison.Ordinal);
    }
}
