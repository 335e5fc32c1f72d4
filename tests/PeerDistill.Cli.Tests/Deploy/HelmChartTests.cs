using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>
/// helm/peerdistill with the real Helm 3.17.3: lint and template with the default values and each
/// example values file, the rendered objects checked (helm/peerdistill/check-rendered.py, with
/// python3-yaml), the schema refusing values it does not describe, the README's table of values in
/// step with the schema. kubectl's client dry-run needs an API server, which does not exist here.
/// </summary>
public sealed class HelmChartTests(ITestOutputHelper output)
{
    /// <summary>"" (the defaults) and each example values file's name.</summary>
    private static IEnumerable<string> ValuesFiles() =>
        [string.Empty, .. Directory.GetFiles(Path.Combine(DeployTools.Chart, "examples"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    private static string[] WithValues(string file, params string[] args) =>
        file.Length == 0 ? args : [.. args, "-f", Path.Combine(DeployTools.Chart, "examples", file)];

    [HelmFact]
    public void LintStrict_PassesWithTheDefaultsAndEveryExample()
    {
        foreach (var file in ValuesFiles())
        {
            var (code, text, errors) = DeployTools.Run(DeployTools.Helm, WithValues(file, "lint", "--strict", DeployTools.Chart), DeployTools.RepoRoot);
            output.WriteLine($"helm lint --strict {(file.Length == 0 ? "(defaults)" : file)}: {text.Trim().Split('\n')[^1]}");
            Assert.True(code == 0, $"helm lint --strict {file}:\n{text}\n{errors}");
            Assert.Contains("1 chart(s) linted, 0 chart(s) failed", text, StringComparison.Ordinal);
        }
    }

    [HelmFact]
    public void RenderedObjects_PassEveryCheckOfTheChartsChecker()
    {
        var (code, text, errors) = DeployTools.Run("/usr/bin/python3", [Path.Combine(DeployTools.Chart, "check-rendered.py"), "--helm", DeployTools.Helm], DeployTools.RepoRoot);
        output.WriteLine(text);
        Assert.True(code == 0, text + errors);
        Assert.Equal("ok", text.Trim().Split('\n')[^1]);
    }

    [HelmFact]
    public void EveryRendering_IsYamlWithoutARepeatedKey()
    {
        // Kubernetes refuses a mapping with a key twice (a pod template's labels once had app.kubernetes.io/name
        // from the common labels and again from the selector labels); YamlDotNet refuses it too.
        foreach (var file in ValuesFiles())
        {
            Assert.NotEmpty(Template(file));
        }
    }

    [HelmFact]
    public void Workers_RequestGpus_ExactlyWhenGpusAreEnabled()
    {
        static IEnumerable<string> GpuRequests(IEnumerable<YamlMappingNode> objects) =>
            objects.Where(o => Scalar(o, "kind") == "StatefulSet")
                .SelectMany(o => ((YamlSequenceNode)At(o, "spec", "template", "spec", "containers")).Children.Cast<YamlMappingNode>())
                .Select(c => c.Children.TryGetValue("resources", out var r) && ((YamlMappingNode)r).Children.TryGetValue("limits", out var l) && ((YamlMappingNode)l).Children.TryGetValue("nvidia.com/gpu", out var g) ? g.ToString() : null)
                .OfType<string>();

        Assert.Empty(GpuRequests(Template("")));
        var gpu = Template("gpu.yaml");
        Assert.NotEmpty(GpuRequests(gpu));
        Assert.All(GpuRequests(gpu), g => Assert.True(int.Parse(g, System.Globalization.CultureInfo.InvariantCulture) > 0, g));
    }

    [HelmFact]
    public void ValuesTheSchemaDoesNotDescribe_AreRefusedNamingThem()
    {
        var (code, text, errors) = DeployTools.Run(DeployTools.Helm, ["template", "pd", DeployTools.Chart, "--set", "worker.replicas=-1", "--set", "nonsense=1"], DeployTools.RepoRoot);
        output.WriteLine(errors);
        Assert.NotEqual(0, code);
        Assert.Contains("worker.replicas", errors, StringComparison.Ordinal);
        Assert.Contains("nonsense", errors, StringComparison.Ordinal);
    }

    [HelmFact]
    public void ReadmeTableOfValues_IsTheOneTheSchemaGives()
    {
        var (code, text, errors) = DeployTools.Run("/usr/bin/python3", [Path.Combine(DeployTools.Chart, "gen-values-table.py"), "--check"], DeployTools.RepoRoot);
        Assert.True(code == 0, $"helm/peerdistill/README.md's table of values differs from values.schema.json (run python3 helm/peerdistill/gen-values-table.py):\n{text}{errors}");
    }

    private static List<YamlMappingNode> Template(string file)
    {
        var (code, text, errors) = DeployTools.Run(DeployTools.Helm, WithValues(file, "template", "pd", DeployTools.Chart, "--namespace", "ns"), DeployTools.RepoRoot);
        Assert.True(code == 0, $"helm template {file}:\n{errors}");
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static string Scalar(YamlMappingNode node, string key) => node.Children.TryGetValue(key, out var value) ? value.ToString() : string.Empty;

    private static YamlNode At(YamlMappingNode node, params string[] keys) =>
        keys.Aggregate((YamlNode)node, (n, k) => ((YamlMappingNode)n)[k]);
}
