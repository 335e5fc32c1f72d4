using System.Text;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// Reads the metric and label names out of a PromQL expression (as a dashboard's panels hold it,
/// Grafana's <c>$variables</c> included): an identifier followed by <c>{</c>, or used bare, that is
/// neither a function (followed by <c>(</c>) nor a keyword or aggregation operator is a metric; a
/// <c>{__name__="..."}</c> selector names one too. Strings, numbers, durations and ranges are skipped.
/// Enough of PromQL for dashboards, not a parser: an expression Prometheus refuses may still read.
/// </summary>
internal static class PromQl
{
    private static readonly HashSet<string> Grouping = new(StringComparer.Ordinal) { "by", "without", "on", "ignoring", "group_left", "group_right" };

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end",
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    /// <summary>The selectors and grouping labels of <paramref name="expr"/>.</summary>
    public static PromQlReferences Read(string expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var tokens = Tokenize(expr);
        var selectors = new List<PromQlSelector>();
        var grouping = new List<string>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var (kind, text) = tokens[i];
            var next = i + 1 < tokens.Count ? tokens[i + 1] : (Kind: TokenKind.End, Text: string.Empty);
            if (Is(tokens[i], "["))
            {
                while (i < tokens.Count && !Is(tokens[i], "]"))
                {
                    i++;
                }

                continue;
            }

            if (Is(tokens[i], "{"))
            {
                // A selector without a name before its braces: {__name__="metric", ...}.
                var (labels, name, end) = Matchers(tokens, i);
                if (name is not null)
                {
                    selectors.Add(new PromQlSelector(name, labels.Where(l => l != "__name__").ToList()));
                }

                i = end;
                continue;
            }

            if (kind != TokenKind.Identifier)
            {
                continue;
            }

            if (Grouping.Contains(text) && Is(next, "("))
            {
                for (i += 2; i < tokens.Count && !Is(tokens[i], ")"); i++)
                {
                    if (tokens[i].Kind == TokenKind.Identifier)
                    {
                        grouping.Add(tokens[i].Text);
                    }
                }

                continue;
            }

            if (Is(next, "(") || Keywords.Contains(text) || Grouping.Contains(text))
            {
                continue;
            }

            if (Is(next, "{"))
            {
                var (labels, _, end) = Matchers(tokens, i + 1);
                selectors.Add(new PromQlSelector(text, labels));
                i = end;
            }
            else
            {
                selectors.Add(new PromQlSelector(text, []));
            }
        }

        return new PromQlReferences(selectors, grouping.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Puts <paramref name="values"/> in for Grafana's variables of <paramref name="expr"/>
    /// (<c>$name</c>, <c>${name}</c>, <c>[[name]]</c>), longer names first.
    /// </summary>
    public static string Expand(string expr, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(expr);
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, value) in values.OrderByDescending(v => v.Key.Length))
        {
            expr = expr.Replace("${" + name + "}", value, StringComparison.Ordinal)
                .Replace("[[" + name + "]]", value, StringComparison.Ordinal)
                .Replace("$" + name, value, StringComparison.Ordinal);
        }

        return expr;
    }

    /// <summary>The label names of the matchers from the <c>{</c> at <paramref name="open"/>, the <c>__name__</c> they fix (if any), and where the <c>}</c> is.</summary>
    private static (List<string> Labels, string? Name, int End) Matchers(List<(TokenKind Kind, string Text)> tokens, int open)
    {
        var labels = new List<string>();
        string? name = null;
        var i = open + 1;
        for (; i < tokens.Count && !Is(tokens[i], "}"); i++)
        {
            if (tokens[i].Kind == TokenKind.Identifier && i + 1 < tokens.Count && tokens[i + 1].Kind == TokenKind.Operator)
            {
                labels.Add(tokens[i].Text);
                if (tokens[i].Text == "__name__" && tokens[i + 1].Text == "=" && i + 2 < tokens.Count && tokens[i + 2].Kind == TokenKind.String)
                {
                    name = tokens[i + 2].Text;
                }
            }
        }

        return (labels, name, i);
    }

    private static List<(TokenKind Kind, string Text)> Tokenize(string expr)
    {
        var tokens = new List<(TokenKind, string)>();
        var i = 0;
        while (i < expr.Length)
        {
            var c = expr[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                // A comment to the end of the line.
                while (i < expr.Length && expr[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '$')
            {
                // A Grafana variable, not PromQL: $name or ${name} or ${name:format}.
                i++;
                if (i < expr.Length && expr[i] == '{')
                {
                    i = expr.IndexOf('}', i) + 1;
                }
                else
                {
                    while (i < expr.Length && IsNamePart(expr[i]))
                    {
                        i++;
                    }
                }
            }
            else if (c is '"' or '\'' or '`')
            {
                var text = new StringBuilder();
                for (i++; i < expr.Length && expr[i] != c; i++)
                {
                    if (expr[i] == '\\' && c != '`')
                    {
                        i++;
                    }

                    text.Append(expr[i]);
                }

                i++;
                tokens.Add((TokenKind.String, text.ToString()));
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expr.Length && char.IsAsciiDigit(expr[i + 1])))
            {
                // A number or a duration (0.95, 1e-3, 5m, 1h30m).
                var start = i;
                for (i++; i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] is '.' or '_' || (expr[i] is '+' or '-' && expr[i - 1] is 'e' or 'E')); i++)
                {
                }

                tokens.Add((TokenKind.Number, expr[start..i]));
            }
            else if (char.IsAsciiLetter(c) || c is '_' or ':')
            {
                var start = i;
                while (i < expr.Length && IsNamePart(expr[i]))
                {
                    i++;
                }

                tokens.Add((TokenKind.Identifier, expr[start..i]));
            }
            else if (c is '{' or '}' or '(' or ')' or '[' or ']' or ',')
            {
                tokens.Add((TokenKind.Punct, c.ToString()));
                i++;
            }
            else
            {
                var start = i;
                for (i++; i < expr.Length && expr[i] is '=' or '~' && expr[start] is '=' or '!' or '<' or '>'; i++)
                {
                }

                tokens.Add((TokenKind.Operator, expr[start..i]));
            }
        }

        return tokens;
    }

    private static bool Is((TokenKind Kind, string Text) token, string punct) => token.Kind == TokenKind.Punct && token.Text == punct;

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';

    private enum TokenKind
    {
        Identifier,
        String,
        Number,
        Punct,
        Operator,
        End,
    }
}
