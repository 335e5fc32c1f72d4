using System.Text.RegularExpressions;
using Xunit;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>
/// The two images' Dockerfiles, read (no engine here to build them): a build stage that publishes
/// with ./build.sh (which the suite and `./build.sh publish` run for real), a final stage that runs as
/// a non-root user with the data and runs folders as volumes, a health check, OCI labels and the
/// published binary as its entry point.
/// </summary>
public sealed partial class DockerfileTests
{
    [Theory]
    [InlineData("Dockerfile.cpu")]
    [InlineData("Dockerfile.cuda")]
    public void Image_IsBuiltInStages_AndRunsAsANonRootUserWithVolumesHealthAndLabels(string file)
    {
        var instructions = Instructions(File.ReadAllText(Path.Combine(DeployTools.RepoRoot, "deploy", file)));
        var stages = Stages(instructions);
        Assert.True(stages.Count >= 2, $"{file}: {stages.Count} stage(s)");

        // Every stage but the last is named, and one of them publishes the CLI with the project's own script.
        Assert.All(stages.SkipLast(1), s => Assert.Matches(@"\sAS\s+[a-z0-9-]+$", s[0].Arguments));
        Assert.Contains(stages.SkipLast(1).SelectMany(s => s), i => i.Keyword == "RUN" && i.Arguments.Contains("./build.sh publish", StringComparison.Ordinal));

        var final = stages[^1];
        var user = Assert.Single(final, i => i.Keyword == "USER").Arguments;
        Assert.Matches(@"^[1-9][0-9]*:[1-9][0-9]*$", user);
        var volumes = Assert.Single(final, i => i.Keyword == "VOLUME").Arguments;
        Assert.Contains("\"/var/lib/peerdistill/data\"", volumes, StringComparison.Ordinal);
        Assert.Contains("\"/var/lib/peerdistill/runs\"", volumes, StringComparison.Ordinal);
        Assert.Matches(@"^--interval=\S+ .*CMD \[""/usr/local/bin/peerdistill-healthcheck""\]$", Assert.Single(final, i => i.Keyword == "HEALTHCHECK").Arguments);
        Assert.Equal("[\"/opt/peerdistill/peerdistill\"]", Assert.Single(final, i => i.Keyword == "ENTRYPOINT").Arguments);
        var labels = string.Join(' ', final.Where(i => i.Keyword == "LABEL").Select(i => i.Arguments));
        foreach (var label in new[] { "title", "description", "version", "revision", "created", "source" })
        {
            Assert.Contains($"org.opencontainers.image.{label}=", labels, StringComparison.Ordinal);
        }

        // Nothing runs as root after USER, and the health check script the image copies exists.
        Assert.DoesNotContain(final.SkipWhile(i => i.Keyword != "USER").Skip(1), i => i.Keyword is "RUN" or "USER");
        Assert.True(File.Exists(Path.Combine(DeployTools.RepoRoot, "deploy", "healthcheck.sh")));
    }

    private sealed record Instruction(string Keyword, string Arguments);

    /// <summary>The instructions of a Dockerfile: comments dropped, continuation lines joined.</summary>
    private static List<Instruction> Instructions(string text)
    {
        var joined = Continuation().Replace(string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#'))), " ");
        return joined.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)
            .Select(l => l.Split(' ', 2) is var parts ? new Instruction(parts[0].ToUpperInvariant(), parts.Length > 1 ? parts[1].Trim() : string.Empty) : null!)
            .ToList();
    }

    private static List<List<Instruction>> Stages(List<Instruction> instructions)
    {
        var stages = new List<List<Instruction>>();
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                stages.Add([]);
            }

            stages.LastOrDefault()?.Add(instruction);
        }

        return stages;
    }

    [GeneratedRegex(@"\\\s*\n")]
    private static partial Regex Continuation();
}
