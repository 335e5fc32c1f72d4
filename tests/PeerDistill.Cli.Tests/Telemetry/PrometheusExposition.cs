using System.Globalization;
using System.Text;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// What a <c>/metrics</c> scrape answered, parsed (the Prometheus text format 0.0.4, or OpenMetrics'
/// text, which this reads the same way): each family's type from its <c># TYPE</c> line and every
/// sample with its labels.
/// </summary>
internal sealed class PrometheusExposition
{
    /// <summary>The sample suffixes of a histogram (or summary) family.</summary>
    public static readonly IReadOnlyList<string> HistogramSuffixes = ["_bucket", "_sum", "_count"];

    private PrometheusExposition(IReadOnlyDictionary<string, string> types, IReadOnlyList<PrometheusSample> samples)
    {
        Types = types;
        Samples = samples;
    }

    /// <summary>Each family's type (<c>counter</c>, <c>gauge</c>, <c>histogram</c>, ...), by the name of its <c># TYPE</c> line.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>The exposition of <paramref name="text"/>; a line that is neither a comment nor a sample is an error.</summary>
    public static PrometheusExposition Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["#", "TYPE", var family, var type])
                {
                    types[family] = type;
                }

                continue;
            }

            samples.Add(ParseSample(line));
        }

        return new PrometheusExposition(types, samples);
    }

    /// <summary>
    /// The family a series name belongs to: the name less <c>_bucket</c>, <c>_sum</c> or
    /// <c>_count</c> where that is a histogram or summary family, else the name itself.
    /// </summary>
    public string FamilyOf(string name)
    {
        foreach (var suffix in HistogramSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && Types.GetValueOrDefault(name[..^suffix.Length]) is "histogram" or "summary")
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    /// <summary>Whether a sample of exactly this series name was exported.</summary>
    public bool HasSeries(string name) => Samples.Any(s => s.Name == name);

    /// <summary>The label names the samples of <paramref name="family"/> carry (all of its series together).</summary>
    public IReadOnlySet<string> LabelsOf(string family) =>
        Samples.Where(s => FamilyOf(s.Name) == family).SelectMany(s => s.Labels.Keys).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every series name of the scrape.</summary>
    public IReadOnlySet<string> SeriesNames => Samples.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
        {
            i++;
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var label = line[i..eq].Trim();
                if (line[eq + 1] != '"')
                {
                    throw new FormatException($"label '{label}' without a quoted value: {line}");
                }

                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                labels[label] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
        {
            throw new FormatException($"a sample without a value: {line}");
        }

        return new PrometheusSample(name, labels, ParseValue(rest[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
