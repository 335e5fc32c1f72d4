using Xunit;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>
/// deploy/otel-collector/config.yaml, read (the collector is not a Debian package): OTLP in on the
/// ports the nodes send to, traces to Jaeger and metrics to Prometheus by remote write, every pipeline
/// naming components the file defines, and the services it names present in the compose stack.
/// </summary>
public sealed class CollectorConfigTests
{
    [Fact]
    public void Pipelines_TakeOtlp_SendTracesToJaegerAndMetricsToPrometheus_WithComponentsTheFileDefines()
    {
        var config = DeployTools.LoadYaml(Path.Combine(DeployTools.RepoRoot, "deploy", "otel-collector", "config.yaml"));
        var protocols = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)config["receivers"])["otlp"])["protocols"];
        Assert.EndsWith(":4317", ((YamlMappingNode)protocols["grpc"])["endpoint"].ToString(), StringComparison.Ordinal);
        Assert.EndsWith(":4318", ((YamlMappingNode)protocols["http"])["endpoint"].ToString(), StringComparison.Ordinal);

        var service = (YamlMappingNode)config["service"];
        var pipelines = (YamlMappingNode)service["pipelines"];
        Assert.Equal(["metrics", "traces"], pipelines.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        foreach (var (name, pipeline) in pipelines.Children.Select(p => (p.Key.ToString(), (YamlMappingNode)p.Value)))
        {
            foreach (var kind in new[] { "receivers", "processors", "exporters" })
            {
                var defined = ((YamlMappingNode)config[kind]).Children.Keys.Select(k => k.ToString()).ToHashSet(StringComparer.Ordinal);
                Assert.All(((YamlSequenceNode)pipeline[kind]).Children.Select(c => c.ToString()), c => Assert.True(defined.Contains(c), $"pipeline {name} names {kind[..^1]} '{c}', which the file does not define"));
            }
        }

        var exporters = (YamlMappingNode)config["exporters"];
        var traces = ((YamlSequenceNode)((YamlMappingNode)pipelines["traces"])["exporters"]).Children.Select(c => ((YamlMappingNode)exporters[c])["endpoint"].ToString()).ToList();
        var metrics = ((YamlSequenceNode)((YamlMappingNode)pipelines["metrics"])["exporters"]).Children.Select(c => ((YamlMappingNode)exporters[c])["endpoint"].ToString()).ToList();
        Assert.Equal(["jaeger:4317"], traces);
        Assert.Equal(["http://prometheus:9090/api/v1/write"], metrics);

        // The services named are in the compose stack, and Prometheus there accepts remote writes.
        var compose = (YamlMappingNode)DeployTools.LoadYaml(Path.Combine(DeployTools.RepoRoot, "docker-compose.yml"))["services"];
        Assert.True(compose.Children.ContainsKey("jaeger") && compose.Children.ContainsKey("prometheus") && compose.Children.ContainsKey("otel-collector"));
        Assert.Contains("--web.enable-remote-write-receiver", ((YamlSequenceNode)((YamlMappingNode)compose["prometheus"])["command"]).Children.Select(c => c.ToString()));
    }
}
