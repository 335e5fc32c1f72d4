using System.Diagnostics;
using PeerDistill.Core.Spec;
using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>
/// Specs beyond the loader's bounds (<see cref="SpecLimits"/>) are refused fast with an error that
/// names the limit: deep nesting used to overflow the stack inside the YAML library and kill the
/// process, and merely deep nesting took seconds.
/// </summary>
public class SpecLimitTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(500);

    public static TheoryData<string, int> DeepDocuments() => new()
    {
        { "flow lists", 50_000 },
        { "flow maps", 30_000 },
        { "json", 40_000 },
        { "block lists", 1_000 },
        { "block maps", 1_000 },
        { "flow lists", 2_000 },
    };

    [Theory]
    [MemberData(nameof(DeepDocuments))]
    public void DeepNesting_RefusedFastWithTheLimitNamed(string style, int depth)
    {
        var text = Deep(style, depth);

        var clock = Stopwatch.StartNew();
        var result = Parse(text);
        clock.Stop();

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Contains($"nested deeper than {SpecLimits.MaxDepth} levels", error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0, error.ToString());
        Assert.True(clock.Elapsed < Fast, $"{style} x {depth}: {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void NestingAtTheLimit_IsReadAsUsual()
    {
        // A value nested exactly MaxDepth levels deep is only wrong for what it is, not for its depth.
        // root, peers, peers[0] and model_options are four levels.
        var nested = new string('[', SpecLimits.MaxDepth - 4) + "1" + new string(']', SpecLimits.MaxDepth - 4);
        var result = Parse(WithPeerA($"model_options: {{widths: {nested}}}"));

        Assert.Contains(result.Errors, e => e.Path == "peers[0].model_options.widths" && e.Message.Contains("expected a value or a list of values", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("nested deeper", StringComparison.Ordinal));
    }

    [Fact]
    public void TooManyValues_RefusedWithTheLimitNamed_InTimeLinearInTheText()
    {
        var text = With("extra: [" + string.Join(',', Enumerable.Repeat("1", SpecLimits.MaxNodes + 1)) + "]");

        var result = Parse(text);

        var error = Assert.Single(result.Errors);
        Assert.Contains($"more than {SpecLimits.MaxNodes} values", error.Message, StringComparison.Ordinal);

        // Refusing costs a small multiple of what merely scanning the same text costs, measured in
        // this run (best of three each, taking turns): the bounds add no work that grows faster.
        var (refuse, scan) = (TimeSpan.MaxValue, TimeSpan.MaxValue);
        for (var round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            var parser = new YamlDotNet.Core.Parser(new StringReader(text));
            while (parser.MoveNext())
            {
            }

            scan = clock.Elapsed < scan ? clock.Elapsed : scan;
            clock.Restart();
            Parse(text);
            refuse = clock.Elapsed < refuse ? clock.Elapsed : refuse;
        }

        Assert.True(refuse < scan * 5, $"refused in {refuse.TotalMilliseconds:F0} ms; scanning alone took {scan.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void TooLarge_RefusedBeforeParsing()
    {
        var text = With("# " + new string('x', SpecLimits.MaxBytes));

        var result = Parse(text);

        var error = Assert.Single(result.Errors);
        Assert.Contains($"a spec may have at most {SpecLimits.MaxBytes} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooLargeFile_RefusedBeforeReading()
    {
        using var dir = new TempSpecDirectory();
        var path = dir.Write("big.yaml", With("# " + new string('x', SpecLimits.MaxBytes)));

        var result = SpecLoader.Load(path);

        var error = Assert.Single(result.Errors);
        Assert.Contains("bytes; a spec may have at most", error.Message, StringComparison.Ordinal);
        Assert.Equal(path, error.Source);
    }

    [Fact]
    public void ManyProblems_ListedUpToTheLimitThenCounted()
    {
        var weights = string.Join(", ", Enumerable.Range(0, 300).Select(i => $"x{i}: 1"));
        var result = Parse(With($"distillation: {{weights: {{{weights}}}}}"));

        Assert.Equal(SpecLimits.MaxErrors + 1, result.Errors.Count);
        Assert.Contains("more problem(s) not listed", result.Errors[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongStrings_RefusedWithTheirLength()
    {
        var result = Parse(With($"output: {new string('o', 5000)}"));

        var error = Assert.Single(result.Errors);
        Assert.Equal("output", error.Path);
        Assert.Contains("must be at most 4096 characters, got 5000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongModelOption_RefusedBeforeTheEngineSeesIt()
    {
        var widths = string.Join(", ", Enumerable.Repeat("8", 200));
        var result = Parse(WithPeerA($"model_options: {{widths: [{widths}]}}"));

        var error = Assert.Single(result.Errors);
        Assert.Equal("peers[0].model_options.widths", error.Path);
        Assert.Contains("at most 256 characters", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData(".hidden")]
    [InlineData("-x")]
    public void CohortNames_ThatAreNotPlainDirectoryNames_Refused(string name)
    {
        var result = Parse(Minimal.Replace("cohort: demo", $"cohort: '{name}'", StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.Equal("cohort", error.Path);
        Assert.Contains("starting with a letter or digit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManyPeers_Refused()
    {
        var peers = string.Join(", ", Enumerable.Range(0, 257).Select(i => $"{{name: p{i}, model: mlp}}"));
        var result = Parse($"cohort: demo\npeers: [{peers}]\ndata: {{dataset: fashion-mnist}}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal("peers", error.Path);
        Assert.Contains("expected 1 to 256 peers, got 257", error.Message, StringComparison.Ordinal);
    }

    private static string Deep(string style, int depth) => style switch
    {
        "flow lists" => With("extra: " + new string('[', depth) + new string(']', depth)),
        "flow maps" => With("extra: " + string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth)),
        "json" => "{\"cohort\": \"demo\", \"peers\": " + string.Concat(Enumerable.Repeat("{\"a\": ", depth)) + "1" + new string('}', depth) + "}",
        "block lists" => With("extra:\n" + string.Concat(Enumerable.Range(0, depth).Select(i => new string(' ', i) + "-\n")) + new string(' ', depth) + "- 1"),
        "block maps" => With("extra:\n" + string.Concat(Enumerable.Range(1, depth).Select(i => new string(' ', i) + "a:\n")) + new string(' ', depth + 1) + "b: 1"),
        _ => throw new ArgumentOutOfRangeException(nameof(style)),
    };
}
