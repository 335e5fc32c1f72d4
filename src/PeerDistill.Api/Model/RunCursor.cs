using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace PeerDistill.Api.Model;

/// <summary>The opaque cursor of a listing's page: where in the order of submission the next page starts.</summary>
internal static class RunCursor
{
    private const string Prefix = "r1:";

    public static string Format(long sequence) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes(Prefix + sequence.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The position a cursor of <see cref="Format"/> holds; null for anything else.</summary>
    public static long? Parse(string cursor)
    {
        if (cursor.Length > 64)
        {
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            return null;
        }

        var text = Encoding.ASCII.GetString(bytes);
        return text.StartsWith(Prefix, StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > 0
            ? sequence
            : null;
    }
}
