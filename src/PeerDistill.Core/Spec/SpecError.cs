using System.Text;

namespace PeerDistill.Core.Spec;

/// <summary>
/// One problem in a cohort spec: the field path (<c>peers[1].model</c>; empty for the document
/// itself), what is wrong, and where (1-based line and column; 0 when there is no position, e.g.
/// the file could not be read).
/// </summary>
public sealed record SpecError(string Path, string Message, int Line, int Column)
{
    /// <summary>The spec's source name as the user gave it (a file path, or e.g. &lt;stdin&gt;).</summary>
    public string Source { get; init; } = "spec";

    /// <summary>One line: <c>spec.yaml:12:10: peers[1].model: unknown model 'resnet99' (known: ...)</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Source);
        if (Line > 0)
        {
            text.Append(':').Append(Line).Append(':').Append(Column);
        }

        text.Append(": ");
        if (Path.Length > 0)
        {
            text.Append(Path).Append(": ");
        }

        return text.Append(Message).ToString();
    }
}
