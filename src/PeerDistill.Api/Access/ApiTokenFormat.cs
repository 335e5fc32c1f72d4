using System.Buffers.Text;
using System.Security.Cryptography;

namespace PeerDistill.Api.Access;

/// <summary>
/// An API token as clients hold it: <c>pd_&lt;id&gt;.&lt;secret&gt;</c>, the id 16 lower-case hex digits
/// (8 random bytes; public: it finds the token's row and names it in lists) and the secret 43
/// base64url characters (32 random bytes). The database keeps a random salt and
/// HMAC-SHA256(salt, secret), never the secret; a presented token is checked by computing the same
/// and comparing in constant time.
/// </summary>
public static class ApiTokenFormat
{
    /// <summary>What every token starts with (so that a leaked one is recognisable, and told from a JWT).</summary>
    public const string Prefix = "pd_";

    private const int IdBytes = 8;
    private const int SecretBytes = 32;
    private const int SaltBytes = 16;
    private const int IdLength = IdBytes * 2;
    private const int SecretLength = 43;

    /// <summary>The length of every token, in characters.</summary>
    public const int Length = 3 + IdLength + 1 + SecretLength;

    /// <summary>A new token: its id, the text the client keeps (shown once) and what the database keeps.</summary>
    public static (string Id, string Token, string Salt, string Hash) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdBytes));
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var token = Prefix + id + "." + Base64Url.EncodeToString(secret);
        return (id, token, Convert.ToHexStringLower(salt), Convert.ToHexStringLower(HMACSHA256.HashData(salt, secret)));
    }

    /// <summary>
    /// What the database keeps of a token made elsewhere (<c>peerdistill tokens mint</c>, a deployment's
    /// secret): its id, the text and a new salt and hash; null when <paramref name="token"/> is not a token.
    /// </summary>
    public static (string Id, string Token, string Salt, string Hash)? Of(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (Parse(token) is not var (id, secret))
        {
            return null;
        }

        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return (id, token, Convert.ToHexStringLower(salt), Convert.ToHexStringLower(HMACSHA256.HashData(salt, secret)));
    }

    /// <summary>The id and secret of <paramref name="token"/>, or null when it is not shaped like a token (any length, any characters).</summary>
    public static (string Id, byte[] Secret)? Parse(ReadOnlySpan<char> token)
    {
        if (token.Length != Length || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[Prefix.Length + IdLength] != '.')
        {
            return null;
        }

        var id = token.Slice(Prefix.Length, IdLength);
        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return null;
            }
        }

        var secretText = token[(Prefix.Length + IdLength + 1)..];
        foreach (var c in secretText)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return null;
            }
        }

        var secret = new byte[SecretBytes];
        if (!Base64Url.TryDecodeFromChars(secretText, secret, out var written) || written != SecretBytes)
        {
            return null;
        }

        return (id.ToString(), secret);
    }

    /// <summary>Whether <paramref name="secret"/> is the secret whose hash under <paramref name="saltHex"/> is <paramref name="hashHex"/> (constant time in the secret).</summary>
    public static bool Matches(byte[] secret, string saltHex, string hashHex)
    {
        ArgumentNullException.ThrowIfNull(secret);
        byte[] salt, expected;
        try
        {
            salt = Convert.FromHexString(saltHex);
            expected = Convert.FromHexString(hashHex);
        }
        catch (FormatException)
        {
            return false;
        }

        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(salt, secret, actual);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
