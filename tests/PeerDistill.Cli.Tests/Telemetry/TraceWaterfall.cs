using System.Globalization;
using System.Net;
using System.Text;
using PeerDistill.Core.Telemetry;
using PeerDistill.Tests.Shared.Otlp;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// Draws received spans as a trace viewer's waterfall (SVG): one row per span, indented under its
/// parent, a bar from its start to its end on a common time axis, its process in its own colour, and
/// each link as an arrow from the linked span's bar to the linking span's. What the README shows of one
/// traced step across two workers is drawn by this from a real run's spans.
/// </summary>
internal static class TraceWaterfall
{
    private const int RowHeight = 22;
    private const int LabelWidth = 330;
    private const int ChartWidth = 640;
    private const int Top = 46;

    private static readonly string[] Colours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];

    /// <summary>The waterfall of <paramref name="roots"/> and their descendants among <paramref name="spans"/>, titled <paramref name="title"/>.</summary>
    public static string Svg(string title, IReadOnlyList<ReceivedSpan> roots, IReadOnlyList<ReceivedSpan> spans)
    {
        var rows = new List<(ReceivedSpan Span, int Depth)>();
        foreach (var root in roots.OrderBy(r => r.Start))
        {
            Add(root, 0);
        }

        void Add(ReceivedSpan span, int depth)
        {
            rows.Add((span, depth));
            foreach (var child in spans.Where(s => s.ParentSpanId == span.SpanId).OrderBy(s => s.Start))
            {
                Add(child, depth + 1);
            }
        }

        var start = rows.Min(r => r.Span.Start);
        var end = rows.Max(r => r.Span.End);
        var total = Math.Max((end - start).TotalMilliseconds, 1e-3);
        double X(DateTimeOffset t) => LabelWidth + ((t - start).TotalMilliseconds / total * ChartWidth);
        var processes = rows.Select(r => Process(r.Span)).Distinct().ToList();
        var height = Top + (rows.Count * RowHeight) + 40;
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{LabelWidth + ChartWidth + 80}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
        svg.Append(Invariant($"<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>"));
        for (var i = 0; i < processes.Count; i++)
        {
            svg.Append(Invariant($"<rect x=\"{8 + (i * 210)}\" y=\"27\" width=\"10\" height=\"10\" fill=\"{Colours[i % Colours.Length]}\"/><text x=\"{22 + (i * 210)}\" y=\"36\">{Escape(processes[i])}</text>"));
        }

        for (var t = 0; t <= 4; t++)
        {
            var x = LabelWidth + (t * ChartWidth / 4.0);
            svg.Append(Invariant($"<line x1=\"{x:F1}\" y1=\"{Top - 4}\" x2=\"{x:F1}\" y2=\"{height - 30}\" stroke=\"#ddd\"/><text x=\"{x:F1}\" y=\"{height - 14}\" text-anchor=\"middle\" fill=\"#555\">{total * t / 4:F2} ms</text>"));
        }

        var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            var (span, depth) = rows[i];
            rowOf[span.SpanId] = i;
            var y = Top + (i * RowHeight);
            var colour = Colours[processes.IndexOf(Process(span)) % Colours.Length];
            var x0 = X(span.Start);
            var width = Math.Max(X(span.End) - x0, 1.5);
            var label = span.Name + Detail(span);
            svg.Append(Invariant($"<text x=\"{8 + (depth * 14)}\" y=\"{y + 15}\">{Escape(label)}</text>"));
            svg.Append(Invariant($"<rect x=\"{x0:F1}\" y=\"{y + 4}\" width=\"{width:F1}\" height=\"{RowHeight - 8}\" rx=\"2\" fill=\"{colour}\"><title>{Escape(Invariant($"{label} ({span.ServiceInstanceId}): {span.Duration.TotalMilliseconds:F3} ms"))}</title></rect>"));
            svg.Append(Invariant($"<text x=\"{x0 + width + 4:F1}\" y=\"{y + 15}\" fill=\"#555\">{span.Duration.TotalMilliseconds:F2} ms</text>"));
        }

        foreach (var (span, _) in rows)
        {
            foreach (var link in span.Links)
            {
                if (rowOf.TryGetValue(link.SpanId, out var from))
                {
                    var linked = rows[from].Span;
                    var to = rowOf[span.SpanId];
                    svg.Append(Invariant($"<line x1=\"{X(linked.End):F1}\" y1=\"{Top + (from * RowHeight) + (RowHeight / 2)}\" x2=\"{X(span.End):F1}\" y2=\"{Top + (to * RowHeight) + (RowHeight / 2)}\" stroke=\"#333\" stroke-dasharray=\"4 3\" marker-end=\"url(#arrow)\"/>"));
                }
            }
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    private static string Process(ReceivedSpan span) => $"{span.ServiceName} {span.ServiceInstanceId}";

    private static string Detail(ReceivedSpan span)
    {
        var parts = new List<string>();
        foreach (var key in new[] { TelemetryAttributes.Peer, TelemetryAttributes.Step })
        {
            if (span.Attributes.GetValueOrDefault(key) is { } value && span.Name is SpanNames.Step or SpanNames.PeerActivation)
            {
                parts.Add($"{key["peerdistill.".Length..]} {value}");
            }
        }

        if (span.Links.Count > 0)
        {
            parts.Add("links " + string.Join(", ", span.Links.Select(l => l.Attributes.GetValueOrDefault(TelemetryAttributes.Sender))));
        }

        return parts.Count > 0 ? " (" + string.Join(", ", parts) + ")" : string.Empty;
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
