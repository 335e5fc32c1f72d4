namespace PeerDistill.Cli;

/// <summary>The CLI's tables: a header and rows in columns as wide as their widest cell, two spaces apart.</summary>
internal static class TextTable
{
    /// <summary>Prints the table, or <paramref name="empty"/> when there are no rows.</summary>
    public static void Print(string[] header, IReadOnlyList<string[]> rows, string empty = "no runs")
    {
        if (rows.Count == 0)
        {
            Console.WriteLine(empty);
            return;
        }

        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        Console.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }
}
