using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using PeerDistill.Cluster.Exchange;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>The ticket codec: what it signs checks back; every change, another key, an expiry, and thousands of generated malformed inputs are refused, and nothing makes it throw.</summary>
public sealed class TicketCodecTests
{
    private static readonly long Now = DateTimeOffset.Parse("2026-12-07T04:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
    private static readonly TicketCodec Codec = new(Enumerable.Range(0, 32).Select(i => (byte)(i * 11)).ToArray());

    private static ExchangeTicket Ticket(string cohort = "pair", string run = "pair-20261207-040000", string peer = "b", ulong generation = 3) =>
        new(cohort, run, peer, generation, Now + 60_000);

    [Theory]
    [InlineData("pair", "pair-20261207-040000", "b", 1UL)]
    [InlineData("c", "r", "p", ulong.MaxValue)]
    [InlineData("kohorte-ü", "läuft.1", "peer_é", 7UL)]
    public void Issued_ChecksBackAsTheSameTicket(string cohort, string run, string peer, ulong generation)
    {
        var ticket = Ticket(cohort, run, peer, generation);
        var text = Codec.Issue(ticket);
        Assert.True(text.Length <= TicketCodec.MaxTextLength);
        Assert.Equal(TicketCheck.Valid(ticket), Codec.Check(text, Now));
    }

    [Fact]
    public void LongestNames_FitUnderTheLengthLimit_AndLongerOnesAreNotIssued()
    {
        var longest = new string('x', ExchangeTicket.MaxNameBytes);
        var ticket = Ticket(longest, longest, longest);
        var text = Codec.Issue(ticket);
        Assert.True(text.Length <= TicketCodec.MaxTextLength, $"{text.Length} characters");
        Assert.Equal(ticket, Codec.Check(text, Now).Ticket);
        Assert.Throws<ArgumentException>(() => Codec.Issue(Ticket(peer: longest + "x")));
        Assert.Throws<ArgumentException>(() => Codec.Issue(Ticket(cohort: string.Empty)));
    }

    [Fact]
    public void EveryByteChanged_IsRefused_AsAlteredOrMalformed()
    {
        var bytes = Base64Url.DecodeFromChars(Codec.Issue(Ticket()));
        for (var i = 0; i < bytes.Length; i++)
        {
            foreach (var flip in new byte[] { 0x01, 0x80, 0xFF })
            {
                var altered = (byte[])bytes.Clone();
                altered[i] ^= flip;
                var check = Codec.Check(Base64Url.EncodeToString(altered), Now);
                Assert.Null(check.Ticket);
                // The version byte is read first; everything else is caught by the signature.
                Assert.Equal(i == 0 ? TicketRefusal.Malformed : TicketRefusal.BadSignature, check.Refusal);
            }
        }
    }

    [Fact]
    public void AnotherKeysTicket_IsRefusedAsForged()
    {
        var forger = new TicketCodec(TicketCodec.NewKey());
        var check = Codec.Check(forger.Issue(Ticket()), Now);
        Assert.Equal(TicketRefusal.BadSignature, check.Refusal);
        Assert.Contains("signature does not verify", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Expired_IsRefusedFromItsExpiryOn_NamingWhen()
    {
        var ticket = Ticket();
        var text = Codec.Issue(ticket);
        Assert.NotNull(Codec.Check(text, ticket.ExpiresUnixMs - 1).Ticket);
        var check = Codec.Check(text, ticket.ExpiresUnixMs);
        Assert.Equal(TicketRefusal.Expired, check.Refusal);
        Assert.Contains("expired at 2026-12-07T04:01:00", check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(text, check.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, TicketRefusal.Missing)]
    [InlineData("", TicketRefusal.Missing)]
    [InlineData("not a ticket!", TicketRefusal.Malformed)]
    [InlineData("AAAA", TicketRefusal.Malformed)]
    [InlineData("A", TicketRefusal.Malformed)]
    public void NoTicketOrNone_IsRefusedWithItsReason(string? text, TicketRefusal reason) =>
        Assert.Equal(reason, Codec.Check(text, Now).Refusal);

    [Fact]
    public void SignedButMalformedPayloads_AreRefusedAsMalformed()
    {
        // What only a holder of the key could write: each is still read strictly.
        var key = Enumerable.Range(0, 32).Select(i => (byte)(i * 11)).ToArray();
        string Sign(byte[] payload)
        {
            var all = new byte[payload.Length + 32];
            payload.CopyTo(all, 0);
            HMACSHA256.HashData(key, payload, all.AsSpan(payload.Length));
            return Base64Url.EncodeToString(all);
        }

        byte[] Payload(params byte[][] names)
        {
            var head = new byte[17];
            head[0] = TicketCodec.Version;
            BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(1), 1);
            BinaryPrimitives.WriteInt64BigEndian(head.AsSpan(9), Now + 60_000);
            return [.. head, .. names.SelectMany(n => n)];
        }

        byte[] Name(string s) => [(byte)Encoding.UTF8.GetByteCount(s), .. Encoding.UTF8.GetBytes(s)];
        var cases = new Dictionary<string, string>
        {
            ["trailing bytes"] = Sign(Payload(Name("c"), Name("r"), Name("p"), [0x00])),
            ["a name longer than its payload"] = Sign(Payload(Name("c"), Name("r"), [40, 0x61])),
            ["an empty name"] = Sign(Payload(Name("c"), [0], Name("p"))),
            ["a name that is not UTF-8"] = Sign(Payload(Name("c"), Name("r"), [2, 0xC3, 0x28])),
        };
        foreach (var (what, text) in cases)
        {
            var check = Codec.Check(text, Now);
            Assert.True(check.Refusal == TicketRefusal.Malformed, $"{what}: {check.Refusal} {check.Detail}");
        }
    }

    [Fact]
    public void ThousandsOfGeneratedMalformedTickets_AreRefused_NeverThrow()
    {
        var random = new Random(21);
        var valid = Codec.Issue(Ticket());
        var refusals = new Dictionary<TicketRefusal, int>();
        const int Count = 20_000;
        for (var i = 0; i < Count; i++)
        {
            var text = Generate(random, valid, i);
            TicketCheck check;
            try
            {
                check = Codec.Check(text, Now);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"input {i} ({text.Length} characters) threw {e}");
            }

            Assert.True(check.Ticket is null, $"input {i} was taken for a ticket");
            Assert.True(check.Refusal is TicketRefusal.Malformed or TicketRefusal.BadSignature or TicketRefusal.Missing, $"input {i}: {check.Refusal}");
            Assert.False(string.IsNullOrEmpty(check.Detail));
            refusals[check.Refusal!.Value] = refusals.GetValueOrDefault(check.Refusal!.Value) + 1;
        }

        // The generator reaches both the parser and the signature check.
        Assert.True(refusals.GetValueOrDefault(TicketRefusal.Malformed) > Count / 4, string.Join(", ", refusals));
        Assert.True(refusals.GetValueOrDefault(TicketRefusal.BadSignature) > Count / 10, string.Join(", ", refusals));
    }

    private static string Generate(Random random, string valid, int i)
    {
        const string Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        char[] Chars(int n, Func<char> next) => Enumerable.Range(0, n).Select(_ => next()).ToArray();
        switch (i % 9)
        {
            case 0:
                return valid[..random.Next(0, valid.Length)];
            case 1:
            {
                var c = valid.ToCharArray();
                var at = random.Next(c.Length);
                c[at] = c[at] == 'A' ? 'B' : 'A';
                return new string(c);
            }

            case 2:
                return Base64Url.EncodeToString(RandomBytes(random, random.Next(0, 700)));
            case 3:
                return new string(Chars(random.Next(1, 200_000), () => Url[random.Next(Url.Length)]));
            case 4:
                return new string(Chars(random.Next(0, 400), () => (char)random.Next(0, 0xD800)));
            case 5:
                return Convert.ToBase64String(Base64Url.DecodeFromChars(valid)) + (random.Next(2) == 0 ? "=" : " ");
            case 6:
                return valid.Insert(random.Next(valid.Length), new string((char)random.Next(0x20, 0x7F), 1)) is var s && s != valid ? s : valid + "!";
            case 7:
            {
                // A signature-length suffix on a random payload with the right version byte.
                var bytes = RandomBytes(random, random.Next(17, 500));
                bytes[0] = TicketCodec.Version;
                return Base64Url.EncodeToString(bytes);
            }

            default:
                return valid + valid[..random.Next(1, valid.Length)];
        }
    }

    private static byte[] RandomBytes(Random random, int n)
    {
        var bytes = new byte[n];
        random.NextBytes(bytes);
        return bytes;
    }
}
