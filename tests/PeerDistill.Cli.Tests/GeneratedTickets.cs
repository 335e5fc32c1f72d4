namespace PeerDistill.Cli.Tests;

/// <summary>Malformed exchange tickets, generated from a seed: none of them one the cluster signed.</summary>
internal static class GeneratedTickets
{
    private const string Base64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// <summary>
    /// <paramref name="count"/> strings derived from the <paramref name="valid"/> ticket's text: cut
    /// short, one character changed, characters of plain base64 ('+', '/', '='), huge (past the
    /// 1024-character limit), printable garbage, a ticket twice over. Header-safe: printable ASCII,
    /// no space at either end.
    /// </summary>
    public static IEnumerable<string> Malformed(string valid, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            yield return (i % 7) switch
            {
                0 => valid[..random.Next(1, valid.Length)],
                1 => Changed(valid, random),
                2 => Changed(valid, random).Replace('-', '+').Replace('_', '/') + "==",
                3 => new string(Enumerable.Range(0, random.Next(1025, 8000)).Select(_ => Base64Url[random.Next(Base64Url.Length)]).ToArray()),
                4 => "x" + new string(Enumerable.Range(0, random.Next(0, 600)).Select(_ => (char)random.Next(0x20, 0x7F)).ToArray()) + "x",
                5 => valid + valid[..random.Next(1, valid.Length)],
                _ => new string(Enumerable.Range(0, random.Next(1, 200)).Select(_ => Base64Url[random.Next(Base64Url.Length)]).ToArray()),
            };
        }
    }

    /// <summary>The ticket with one character replaced by another base64url character.</summary>
    private static string Changed(string valid, Random random)
    {
        var chars = valid.ToCharArray();
        var at = random.Next(chars.Length);
        char other;
        do
        {
            other = Base64Url[random.Next(Base64Url.Length)];
        }
        while (other == chars[at]);
        chars[at] = other;
        return new string(chars);
    }
}
