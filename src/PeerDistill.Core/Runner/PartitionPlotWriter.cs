using System.Globalization;
using System.Security;
using System.Text;
using PeerDistill.Core.Data;

namespace PeerDistill.Core.Runner;

/// <summary>partition.svg of a federated run: one horizontal bar per participant (and the public split), its length the images, split by class.</summary>
public static class PartitionPlotWriter
{
    private const int BarHeight = 18;
    private const int LabelWidth = 110;
    private const int BarsWidth = 640;
    private static readonly string[] Colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public static void Write(string svgPath, FederatedPlan plan, string title)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var rows = plan.Participants.Select((p, i) => (Label: p, Counts: plan.ClassCounts[i]))
            .Append((Label: "public split", Counts: plan.PublicClassCounts)).ToList();
        var most = Math.Max(1, rows.Max(r => r.Counts.Sum()));
        var classes = plan.PublicClassCounts.Length;
        var width = LabelWidth + BarsWidth + 80;
        var height = 60 + (rows.Count * (BarHeight + 6)) + 40;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{SecurityElement.Escape(title)}: images per class of each participant</text>\n");
        var y = 40;
        foreach (var (label, counts) in rows)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{LabelWidth - 6}\" y=\"{y + BarHeight - 5}\" text-anchor=\"end\">{SecurityElement.Escape(label)}</text>\n");
            double x = LabelWidth;
            for (var c = 0; c < counts.Length; c++)
            {
                var w = BarsWidth * (double)counts[c] / most;
                if (w > 0)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:F1}\" y=\"{y}\" width=\"{w:F1}\" height=\"{BarHeight}\" fill=\"{Colors[c % Colors.Length]}\"><title>class {c}: {counts[c]}</title></rect>\n");
                }

                x += w;
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 4:F1}\" y=\"{y + BarHeight - 5}\">{counts.Sum()}</text>\n");
            y += BarHeight + 6;
        }

        var legendX = LabelWidth;
        for (var c = 0; c < classes; c++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legendX}\" y=\"{y + 8}\" width=\"12\" height=\"12\" fill=\"{Colors[c % Colors.Length]}\"/><text x=\"{legendX + 16}\" y=\"{y + 18}\">{c}</text>\n");
            legendX += 44;
        }

        svg.Append("</svg>\n");
        File.WriteAllText(svgPath, svg.ToString());
    }
}
