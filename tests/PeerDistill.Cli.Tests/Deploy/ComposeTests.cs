using System.Text.RegularExpressions;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>
/// docker-compose.yml and its GPU override, validated by Debian's docker-compose (there is no engine
/// here, so `up` is not tested) and read: the services, their start order on health, the nodes'
/// hardening, and every flag a node is started with taken by the real CLI.
/// </summary>
public sealed partial class ComposeTests
{
    private static readonly string[] Nodes = ["coordinator", "worker-1", "worker-2"];

    [ComposeFact]
    public void Config_IsValid_AndStartsEachNodeAfterWhatItNeedsIsHealthy()
    {
        var config = Config("docker-compose.yml");
        var services = (YamlMappingNode)config["services"];
        Assert.Equal(
            ["coordinator", "grafana", "jaeger", "otel-collector", "postgres", "prometheus", "worker-1", "worker-2"],
            services.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal("service_healthy", DependsOn(services, "coordinator", "postgres"));
        Assert.Equal("service_healthy", DependsOn(services, "worker-1", "coordinator"));
        Assert.Equal("service_healthy", DependsOn(services, "worker-2", "coordinator"));
        foreach (var node in Nodes)
        {
            var service = (YamlMappingNode)services[node];
            Assert.True(service.Children.ContainsKey("healthcheck"), $"{node} has no health check");
            Assert.Equal("true", service["read_only"].ToString());
            Assert.DoesNotMatch("^0(:|$)", service["user"].ToString());
            Assert.Contains("runs:/var/lib/peerdistill/runs", ((YamlSequenceNode)service["volumes"]).Children.Select(Volume));
        }

        // Every node reports to the collector and serves Prometheus on the port prometheus.yml scrapes.
        Assert.All(Nodes, node => Assert.Equal("http://otel-collector:4317", ((YamlMappingNode)((YamlMappingNode)services[node])["environment"])["OTEL_EXPORTER_OTLP_ENDPOINT"].ToString()));
        Assert.All(Nodes, node => Assert.Contains("--metrics-port=9464", Command(services, node)));
    }

    [ComposeFact]
    public void GpuOverride_ReservesAnNvidiaDeviceForEachWorker_OnTheCudaImage()
    {
        var services = (YamlMappingNode)Config("docker-compose.yml", "docker-compose.gpu.yml")["services"];
        foreach (var worker in new[] { "worker-1", "worker-2" })
        {
            var service = (YamlMappingNode)services[worker];
            var device = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)service["deploy"])["resources"])["reservations"])["devices"]).Children.Single();
            Assert.Equal("nvidia", device["driver"].ToString());
            Assert.Contains("gpu", ((YamlSequenceNode)device["capabilities"]).Children.Select(c => c.ToString()));
            Assert.Equal("deploy/Dockerfile.cuda", ((YamlMappingNode)service["build"])["dockerfile"].ToString());
            Assert.Contains(Command(services, worker), a => a.StartsWith("--devices=cuda:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void EveryFlagANodeIsStartedWith_IsOneOfItsCommandsOptions()
    {
        foreach (var file in new[] { "docker-compose.yml", "docker-compose.gpu.yml" })
        {
            var services = (YamlMappingNode)DeployTools.LoadYaml(Path.Combine(DeployTools.RepoRoot, file))["services"];
            foreach (var (name, service) in services.Children.Select(c => (c.Key.ToString(), (YamlMappingNode)c.Value)))
            {
                if (!service.Children.TryGetValue("command", out var command) || command is not YamlSequenceNode args || args.Children[0].ToString() is not ("coordinator" or "worker"))
                {
                    continue;
                }

                var known = Options(args.Children[0].ToString());
                foreach (var flag in args.Children.Skip(1).Select(a => a.ToString().Split('=')[0]))
                {
                    Assert.True(known.Contains(flag), $"{file}: {name} is started with {flag}, which `peerdistill {args.Children[0]}` does not take ({string.Join(", ", known.Order(StringComparer.Ordinal))})");
                }
            }
        }
    }

    /// <summary>The options `peerdistill <paramref name="command"/> --help` lists.</summary>
    private static HashSet<string> Options(string command)
    {
        var (code, stdout, stderr) = CliProcess.Run(command, "--help");
        Assert.True(code == 0, stderr);
        return OptionName().Matches(stdout).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", RegexOptions.Multiline)]
    private static partial Regex OptionName();

    /// <summary>`docker-compose -f ... config`: the files merged and checked, as the engine would run them.</summary>
    private static YamlMappingNode Config(params string[] files)
    {
        var (code, text, errors) = DeployTools.Run("/usr/bin/docker-compose", [.. files.SelectMany(f => new[] { "-f", f }), "config"], DeployTools.RepoRoot);
        Assert.True(code == 0, $"docker-compose -f {string.Join(" -f ", files)} config:\n{errors}");
        return DeployTools.ParseYaml(text);
    }

    private static string DependsOn(YamlMappingNode services, string service, string on) =>
        ((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)services[service])["depends_on"])[on])["condition"].ToString();

    private static List<string> Command(YamlMappingNode services, string service) =>
        ((YamlSequenceNode)((YamlMappingNode)services[service])["command"]).Children.Select(c => c.ToString()).ToList();

    /// <summary>A volume as "source:target" in either of compose's spellings.</summary>
    private static string Volume(YamlNode node) => node is YamlMappingNode m ? $"{m["source"]}:{m["target"]}" : Regex.Replace(node.ToString(), ":(ro|rw)$", string.Empty);
}
