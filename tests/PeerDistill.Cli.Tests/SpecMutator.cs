using System.Globalization;
using System.Text;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Cohort specs as a careless or hostile client might send them: a valid spec bent by one to
/// three random edits (characters, lines, values, nesting, aliases, sizes). Seeded, so a failure
/// names the spec that caused it and comes back on the next run.
/// </summary>
internal sealed class SpecMutator(int seed, IReadOnlyList<string> corpus)
{
    private static readonly string[] Tokens =
    [
        "[", "]", "{", "}", ":", ": ", ",", "- ", "&a ", "*a", "*nowhere", "!!str ", "!!binary ", "!custom ", "|", ">", "'", "\"", "#", "%YAML 1.2\n",
        "@", "`", "\t", "\r", "\n", "---\n", "...\n", "?", "~", "null", "\u0000", "\uFEFF", "\u202E", "é", "\U0001F600", "<<: *a\n", "\\", "\\u0000",
    ];

    private static readonly string[] Values =
    [
        "1e308", "-1e308", "1e-300", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "0", "-0", "-1", "0x1F", "1_000",
        ".nan", ".inf", "-.inf", "NaN", "true", "yes", "~", "''", "\"\"", "[]", "{}", "[1, 2]", "{a: 1}", "\"\\u0000\"", "&a 5", "*a",
        "/etc/passwd", "../../../../tmp/x", "cuda:999", "resnet99", "mlp.pt", "2147483648", "1.7976931348623157e308",
    ];

    private readonly Random _random = new(seed);

    public string Next()
    {
        var text = corpus[_random.Next(corpus.Count)];
        var edits = 1 + _random.Next(3);
        for (var i = 0; i < edits; i++)
        {
            text = Edit(text);
        }

        return WholeCharacters(text);
    }

    /// <summary>The text with any surrogate an edit cut in half replaced (text on the wire is UTF-8).</summary>
    private static string WholeCharacters(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '?';
            }
        }

        return new string(chars);
    }

    private string Edit(string text)
    {
        if (text.Length == 0)
        {
            return Pick(Tokens);
        }

        var at = _random.Next(text.Length);
        switch (_random.Next(13))
        {
            case 0:
                return string.Concat(text.AsSpan(0, at), Pick(Tokens).AsSpan(0, 1), text.AsSpan(at + 1));
            case 1:
                return text.Remove(at, Math.Min(text.Length - at, 1 + _random.Next(20)));
            case 2:
                return text.Insert(at, Pick(Tokens));
            case 3:
                return ReplaceValue(text, Pick(Values));
            case 4:
                return text[..at];
            case 5:
                var depth = Pick([40, 1000, 30_000]);
                return text.Insert(LineStart(text, at), "extra: " + new string('[', depth) + new string(']', depth) + "\n");
            case 6:
                return text.Insert(LineStart(text, at), $"nest: {string.Concat(Enumerable.Repeat("{a: ", 5000))}1{new string('}', 5000)}\n");
            case 7:
                return ReplaceValue(text, new string('x', Pick([100, 5000, 200_000])));
            case 8:
                return ReplaceValue(text, "&a " + Pick(Values)) + "\nother: *a\n";
            case 9:
                var many = string.Join(", ", Enumerable.Range(0, Pick([300, 3000])).Select(i => $"{{name: p{i}, model: mlp}}"));
                return text.Replace("peers:", $"peers: [{many}]\nunused_peers:", StringComparison.Ordinal);
            case 10:
                var lines = text.Split('\n');
                var (a, b) = (_random.Next(lines.Length), _random.Next(lines.Length));
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return string.Join('\n', lines);
            case 11:
                var line = text.Split('\n')[_random.Next(text.Split('\n').Length)];
                return text.Insert(LineStart(text, at), line + "\n");
            default:
                return ReplaceNumber(text);
        }
    }

    /// <summary>The value of a random "key: value" line replaced.</summary>
    private string ReplaceValue(string text, string value)
    {
        var lines = text.Split('\n');
        var candidates = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains(": ", StringComparison.Ordinal)).ToList();
        if (candidates.Count == 0)
        {
            return text + "\nextra: " + value;
        }

        var i = candidates[_random.Next(candidates.Count)];
        lines[i] = lines[i][..(lines[i].IndexOf(": ", StringComparison.Ordinal) + 2)] + value;
        return string.Join('\n', lines);
    }

    /// <summary>A random number in the text replaced by an extreme one.</summary>
    private string ReplaceNumber(string text)
    {
        var numbers = new List<(int Start, int Length)>();
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsAsciiDigit(text[i]) && (i == 0 || !char.IsAsciiLetterOrDigit(text[i - 1])))
            {
                var j = i;
                while (j < text.Length && (char.IsAsciiDigit(text[j]) || text[j] is '.' or 'e' or '-'))
                {
                    j++;
                }

                numbers.Add((i, j - i));
                i = j;
            }
        }

        if (numbers.Count == 0)
        {
            return text;
        }

        var (start, length) = numbers[_random.Next(numbers.Count)];
        var replacement = _random.Next(3) == 0
            ? (_random.NextDouble() * Math.Pow(10, _random.Next(-320, 320))).ToString("R", CultureInfo.InvariantCulture)
            : Pick(Values);
        return new StringBuilder(text).Remove(start, length).Insert(start, replacement).ToString();
    }

    private static int LineStart(string text, int at) => at == 0 ? 0 : text.LastIndexOf('\n', at - 1) + 1;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}
