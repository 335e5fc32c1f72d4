using System.Text.Json;
using System.Text.RegularExpressions;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>A Grafana dashboard JSON as the tests read it: its panels (those in rows too), their queries, its template variables.</summary>
internal sealed partial class GrafanaDashboard
{
    private GrafanaDashboard(JsonElement root) => Root = root;

    public JsonElement Root { get; }

    /// <summary>Every panel, rows included, with the panels of collapsed rows.</summary>
    public IReadOnlyList<JsonElement> Panels
    {
        get
        {
            var all = new List<JsonElement>();
            foreach (var panel in Root.GetProperty("panels").EnumerateArray())
            {
                all.Add(panel);
                if (panel.TryGetProperty("panels", out var nested))
                {
                    all.AddRange(nested.EnumerateArray());
                }
            }

            return all;
        }
    }

    /// <summary>The PromQL of every panel's targets.</summary>
    public IReadOnlyList<GrafanaQuery> Queries =>
        [.. from panel in Panels
            where panel.TryGetProperty("targets", out _)
            from target in panel.GetProperty("targets").EnumerateArray()
            select new GrafanaQuery(panel.GetProperty("title").GetString()!, target.GetProperty("refId").GetString()!, target.GetProperty("expr").GetString()!)];

    /// <summary>The template variables.</summary>
    public IReadOnlyList<GrafanaVariable> Variables =>
        [.. from v in Root.GetProperty("templating").GetProperty("list").EnumerateArray()
            select new GrafanaVariable(v.GetProperty("name").GetString()!, v.GetProperty("type").GetString()!, QueryOf(v))];

    public static GrafanaDashboard Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return new GrafanaDashboard(json.RootElement.Clone());
    }

    /// <summary>
    /// The selector and label of a Prometheus query variable's <c>label_values(selector, label)</c>
    /// (Grafana's, not PromQL); null for any other variable query.
    /// </summary>
    public static (string Selector, string Label)? LabelValues(string query)
    {
        var m = LabelValuesCall().Match(query);
        return m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : null;
    }

    private static string QueryOf(JsonElement variable) =>
        variable.TryGetProperty("query", out var query)
            ? query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString()! : query.GetString() ?? string.Empty
            : string.Empty;

    [GeneratedRegex(@"^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelValuesCall();
}
