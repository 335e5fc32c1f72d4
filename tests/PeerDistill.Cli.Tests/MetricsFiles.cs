using System.Text.Json;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>What the metrics files of a run say.</summary>
internal static class MetricsFiles
{
    /// <summary>(peer, step) -> total loss of every <c>step</c> record in <paramref name="lines"/>.</summary>
    public static Dictionary<(string Peer, long Step), double> StepLosses(IEnumerable<string> lines)
    {
        var result = new Dictionary<(string, long), double>();
        foreach (var line in lines)
        {
            var e = JsonDocument.Parse(line).RootElement;
            if (e.GetProperty("type").GetString() == "step")
            {
                result[(e.GetProperty("peer").GetString()!, e.GetProperty("step").GetInt64())] = e.GetProperty("loss").GetDouble();
            }
        }

        return result;
    }

    /// <summary>The per-step losses an embedded run wrote (metrics.jsonl under <paramref name="output"/>).</summary>
    public static Dictionary<(string Peer, long Step), double> Embedded(string output) => StepLosses(File.ReadLines(Path.Combine(output, "metrics.jsonl")));

    /// <summary>The per-step losses the workers of a distributed run wrote (metrics.&lt;peer&gt;.jsonl in its run directory).</summary>
    public static Dictionary<(string Peer, long Step), double> Distributed(string runDirectory) =>
        StepLosses(Directory.GetFiles(runDirectory, "metrics.*.jsonl").SelectMany(File.ReadLines));

    /// <summary>
    /// Runs <paramref name="spec"/> embedded (in <paramref name="workingDirectory"/>/embedded) and asserts
    /// that the distributed run in <paramref name="runDirectory"/> wrote the same steps with exactly its
    /// losses; <paramref name="how"/> says how the distributed run went, for the failure message.
    /// </summary>
    public static void AssertEqualToEmbedded(string workingDirectory, string spec, string runDirectory, string how)
    {
        var embedded = Path.Combine(workingDirectory, "embedded");
        var run = CliProcess.RunIn(workingDirectory, "run", spec, "--output", embedded);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var expected = Embedded(embedded);
        var actual = Distributed(runDirectory);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(actual, kv => Assert.True(expected[kv.Key] == kv.Value, $"{kv.Key}: {kv.Value:R} {how}, {expected[kv.Key]:R} embedded"));
    }
}
