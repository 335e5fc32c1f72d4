using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// Signs and checks exchange tickets with the cluster's key (HMAC-SHA256). A ticket's text is
/// base64url (no padding) of: version (1 byte, <see cref="Version"/>), generation (8 bytes,
/// big-endian), expiry (8 bytes, big-endian, Unix milliseconds), then cohort, run and peer, each one
/// length byte and that many UTF-8 bytes (at most <see cref="ExchangeTicket.MaxNameBytes"/>), then the
/// 32-byte HMAC-SHA256 tag over everything before it. Checking is strict: at most
/// <see cref="MaxTextLength"/> characters, canonical base64url, the tag compared in fixed time
/// before anything else is believed, no trailing bytes. Nothing a caller sends makes it throw.
/// </summary>
public sealed class TicketCodec
{
    /// <summary>The ticket format this codec writes and reads.</summary>
    public const byte Version = 1;

    /// <summary>The length of the cluster's key, in bytes.</summary>
    public const int KeyLength = 32;

    /// <summary>The longest ticket text read; a longer one is refused unread.</summary>
    public const int MaxTextLength = 1024;

    private const int TagLength = 32;
    private const int FixedLength = 1 + 8 + 8;
    private static readonly System.Buffers.SearchValues<char> Alphabet = System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly byte[] _key;

    /// <param name="key">The cluster's key: <see cref="KeyLength"/> random bytes (copied).</param>
    public TicketCodec(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"an exchange ticket key is {KeyLength} bytes, not {key.Length}", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A new random key.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyLength);

    /// <summary>The signed text of <paramref name="ticket"/>.</summary>
    public string Issue(ExchangeTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var names = new[] { ticket.Cohort, ticket.Run, ticket.Peer }.Select(n => Strict.GetBytes(n)).ToArray();
        if (names.FirstOrDefault(n => n.Length is 0 or > ExchangeTicket.MaxNameBytes) is { } wrong)
        {
            throw new ArgumentException($"a ticket's cohort, run and peer are 1 to {ExchangeTicket.MaxNameBytes} UTF-8 bytes; one is {wrong.Length}", nameof(ticket));
        }

        var payloadLength = FixedLength + names.Sum(n => 1 + n.Length);
        var bytes = new byte[payloadLength + TagLength];
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(1), ticket.Generation);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), ticket.ExpiresUnixMs);
        var at = FixedLength;
        foreach (var name in names)
        {
            bytes[at++] = (byte)name.Length;
            name.CopyTo(bytes, at);
            at += name.Length;
        }

        HMACSHA256.HashData(_key, bytes.AsSpan(0, payloadLength), bytes.AsSpan(payloadLength));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// The ticket <paramref name="text"/> is, if it is one the cluster's key signed and it has not
    /// expired at <paramref name="nowUnixMs"/>; else why not (<see cref="TicketRefusal.Missing"/>,
    /// <see cref="TicketRefusal.Malformed"/>, <see cref="TicketRefusal.BadSignature"/> or
    /// <see cref="TicketRefusal.Expired"/>).
    /// </summary>
    public TicketCheck Check(string? text, long nowUnixMs)
    {
        if (string.IsNullOrEmpty(text))
        {
            return TicketCheck.Refused(TicketRefusal.Missing, "the call carries no exchange ticket (metadata '" + ExchangeTicket.Header + "')");
        }

        if (text.Length > MaxTextLength)
        {
            return TicketCheck.Refused(TicketRefusal.Malformed, $"the exchange ticket is malformed: {text.Length} characters, more than {MaxTextLength}");
        }

        // Only the alphabet, unpadded, in a length base64url can have; then decoded, and encoded back
        // to the same text (no stray bits in the last character).
        // (Base64Url.TryDecodeFromChars throws on some inputs; Convert.TryFromBase64Chars never does.)
        var bytes = new byte[Base64Url.GetMaxDecodedLength(text.Length) + 2];
        var length = 0;
        if (text.AsSpan().ContainsAnyExcept(Alphabet) || text.Length % 4 == 1
            || !Convert.TryFromBase64String(text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (text.Length % 4)) % 4), bytes, out length)
            || !Base64Url.EncodeToString(bytes.AsSpan(0, length)).Equals(text, StringComparison.Ordinal))
        {
            return TicketCheck.Refused(TicketRefusal.Malformed, "the exchange ticket is malformed: not canonical base64url");
        }

        if (length < FixedLength + 3 * 2 + TagLength)
        {
            return TicketCheck.Refused(TicketRefusal.Malformed, $"the exchange ticket is malformed: {length} bytes, too short to be one");
        }

        if (bytes[0] != Version)
        {
            return TicketCheck.Refused(TicketRefusal.Malformed, $"the exchange ticket is malformed: version {bytes[0]}, not {Version}");
        }

        var payload = bytes.AsSpan(0, length - TagLength);
        Span<byte> expected = stackalloc byte[TagLength];
        HMACSHA256.HashData(_key, payload, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes.AsSpan(length - TagLength, TagLength)))
        {
            return TicketCheck.Refused(TicketRefusal.BadSignature, "the exchange ticket's signature does not verify (forged or altered)");
        }

        // Signed by the cluster's key: what follows was written by Issue; it is still read strictly.
        var generation = BinaryPrimitives.ReadUInt64BigEndian(payload[1..]);
        var expires = BinaryPrimitives.ReadInt64BigEndian(payload[9..]);
        var at = FixedLength;
        var names = new string[3];
        for (var i = 0; i < names.Length; i++)
        {
            if (at >= payload.Length || payload[at] is 0 or > ExchangeTicket.MaxNameBytes || at + 1 + payload[at] > payload.Length)
            {
                return TicketCheck.Refused(TicketRefusal.Malformed, "the exchange ticket is malformed: its names do not fit its length");
            }

            try
            {
                names[i] = Strict.GetString(payload.Slice(at + 1, payload[at]));
            }
            catch (ArgumentException)
            {
                return TicketCheck.Refused(TicketRefusal.Malformed, "the exchange ticket is malformed: a name is not UTF-8");
            }

            at += 1 + payload[at];
        }

        if (at != payload.Length)
        {
            return TicketCheck.Refused(TicketRefusal.Malformed, "the exchange ticket is malformed: trailing bytes");
        }

        var ticket = new ExchangeTicket(names[0], names[1], names[2], generation, expires);
        if (nowUnixMs >= expires)
        {
            return TicketCheck.Refused(TicketRefusal.Expired, $"the {ticket} expired at {DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(expires, -62135596800000L, 253402300799999L)):O}");
        }

        return TicketCheck.Valid(ticket);
    }
}
