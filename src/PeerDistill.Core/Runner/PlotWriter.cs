using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json.Nodes;

namespace PeerDistill.Core.Runner;

/// <summary>
/// plot.svg: evaluation accuracy (left) and training loss (right, averaged over windows of steps)
/// per peer over training; one colour per peer, baseline runs dashed.
/// </summary>
public static class PlotWriter
{
    private const int PanelWidth = 520;
    private const int PanelHeight = 340;
    private const int Margin = 56;
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    public static void Write(string svgPath, string metricsPath, string title)
    {
        var accuracy = new Dictionary<(string Run, string Peer), List<(double X, double Y)>>();
        var lossSums = new Dictionary<(string Run, string Peer), List<(long Step, double Loss)>>();
        foreach (var line in File.Exists(metricsPath) ? File.ReadLines(metricsPath) : [])
        {
            JsonNode? n;
            try
            {
                n = JsonNode.Parse(line);
            }
            catch (System.Text.Json.JsonException)
            {
                continue;
            }

            if (n is null)
            {
                continue;
            }

            var key = (n["run"]!.GetValue<string>(), n["peer"]!.GetValue<string>());
            switch (n["type"]?.GetValue<string>())
            {
                case "eval":
                    Add(accuracy, key, (n["step"]!.GetValue<long>(), n["accuracy"]!.GetValue<double>()));
                    break;
                case "step":
                    Add(lossSums, key, (n["step"]!.GetValue<long>(), n["loss"]!.GetValue<double>()));
                    break;
            }
        }

        var loss = lossSums.ToDictionary(kv => kv.Key, kv => Smooth(kv.Value));
        var peers = accuracy.Keys.Concat(loss.Keys).Select(k => k.Peer).Distinct().ToList();
        var svg = new StringBuilder();
        var width = (2 * PanelWidth) + 40;
        var height = PanelHeight + 110;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">{SecurityElement.Escape(title)}</text>\n");
        Panel(svg, 0, "evaluation accuracy", accuracy, peers);
        Panel(svg, PanelWidth + 40, "training loss", loss, peers);
        Legend(svg, peers, accuracy.Keys.Concat(loss.Keys).Select(k => k.Run).Distinct().ToList(), PanelHeight + 80);
        svg.Append("</svg>\n");
        File.WriteAllText(svgPath, svg.ToString());
    }

    private static void Add<T>(Dictionary<(string, string), List<T>> map, (string, string) key, T value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = new List<T>();
        }

        list.Add(value);
    }

    private static List<(double X, double Y)> Smooth(List<(long Step, double Loss)> points)
    {
        var window = Math.Max(1, points.Count / 100);
        return points.OrderBy(p => p.Step).Chunk(window).Select(c => ((double)c[^1].Step + 1, c.Average(p => p.Loss))).ToList();
    }

    private static void Panel(StringBuilder svg, int left, string label, Dictionary<(string Run, string Peer), List<(double X, double Y)>> series, List<string> peers)
    {
        var x0 = left + Margin;
        var y0 = 40;
        var w = PanelWidth - Margin - 10;
        var h = PanelHeight - 40;
        var points = series.Values.SelectMany(v => v).Where(p => double.IsFinite(p.Y)).ToList();
        var maxX = points.Count > 0 ? points.Max(p => p.X) : 1;
        var minY = points.Count > 0 ? points.Min(p => p.Y) : 0;
        var maxY = points.Count > 0 ? points.Max(p => p.Y) : 1;
        if (maxY - minY < 1e-9)
        {
            maxY = minY + 1;
        }

        var pad = (maxY - minY) * 0.05;
        minY -= pad;
        maxY += pad;
        double Px(double x) => x0 + (w * x / Math.Max(1, maxX));
        double Py(double y) => y0 + h - (h * (y - minY) / (maxY - minY));

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#888\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + (w / 2)}\" y=\"{y0 - 8}\" text-anchor=\"middle\" font-size=\"13\">{label}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + (w / 2)}\" y=\"{y0 + h + 34}\" text-anchor=\"middle\">step</text>\n");
        for (var i = 0; i <= 4; i++)
        {
            var yv = minY + ((maxY - minY) * i / 4);
            var xv = maxX * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x0}\" x2=\"{x0 + w}\" y1=\"{Py(yv):F1}\" y2=\"{Py(yv):F1}\" stroke=\"#eee\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 - 6}\" y=\"{Py(yv) + 4:F1}\" text-anchor=\"end\">{yv:0.###}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Px(xv):F1}\" y=\"{y0 + h + 16}\" text-anchor=\"middle\">{xv:0}</text>\n");
        }

        foreach (var ((run, peer), values) in series.OrderBy(kv => kv.Key.Run, StringComparer.Ordinal))
        {
            var finite = values.Where(p => double.IsFinite(p.Y)).OrderBy(p => p.X).ToList();
            if (finite.Count == 0)
            {
                continue;
            }

            var color = Colors[peers.IndexOf(peer) % Colors.Length];
            var dash = run == CohortExperiment.BaselineRun ? " stroke-dasharray=\"5,4\"" : string.Empty;
            var path = string.Join(' ', finite.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Px(p.X):F1},{Py(p.Y):F1}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\"{dash} points=\"{path}\"/>\n");
            if (finite.Count <= 40)
            {
                foreach (var p in finite)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Px(p.X):F1}\" cy=\"{Py(p.Y):F1}\" r=\"2.5\" fill=\"{color}\"/>\n");
                }
            }
        }
    }

    private static void Legend(StringBuilder svg, List<string> peers, List<string> runs, int y)
    {
        var x = Margin;
        for (var i = 0; i < peers.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x}\" x2=\"{x + 24}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"3\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 30}\" y=\"{y + 4}\">{SecurityElement.Escape(peers[i])}</text>\n");
            x += 40 + (8 * peers[i].Length);
        }

        foreach (var run in runs)
        {
            var dash = run == CohortExperiment.BaselineRun ? " stroke-dasharray=\"5,4\"" : string.Empty;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x}\" x2=\"{x + 24}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#444\" stroke-width=\"2\"{dash}/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 30}\" y=\"{y + 4}\">{SecurityElement.Escape(run)}</text>\n");
            x += 40 + (8 * run.Length);
        }
    }
}
