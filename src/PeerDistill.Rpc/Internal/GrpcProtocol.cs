using System.Globalization;
using System.Net;
using System.Text;

namespace PeerDistill.Rpc.Internal;

/// <summary>Constants and encodings of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";
    public const string UserAgent = "peerdistill-grpc-dotnet/1.0";
    public const int HeaderSize = 5;

    /// <summary>The default receive limit of a message (grpc's default).</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Headers that belong to HTTP/2 or to this protocol, never exposed as call metadata.</summary>
    public static bool IsReservedHeader(string key) =>
        key.StartsWith(':') ||
        key is "content-type" or "te" or "host" or "user-agent" or "content-length" or "accept-encoding" or "content-encoding" or "connection" or "transfer-encoding" or "trailer" or "date" or "server" ||
        key.StartsWith("grpc-", StringComparison.Ordinal);

    /// <summary>Whether a content-type is gRPC's (<c>application/grpc</c> or <c>application/grpc+proto</c> and the like).</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType) || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>Formats a timeout for <c>grpc-timeout</c>: at most 8 digits and a unit.</summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        // Round up so that the server never sees a shorter deadline than the client's (without
        // overflowing near TimeSpan.MaxValue: ticks + 9 would).
        var micros = ticks / 10 + (ticks % 10 == 0 ? 0 : 1);
        if (micros < 100_000_000)
        {
            return micros.ToString(CultureInfo.InvariantCulture) + "u";
        }

        var millis = (micros + 999) / 1000;
        if (millis < 100_000_000)
        {
            return millis.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = (millis + 999) / 1000;
        if (seconds < 100_000_000)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        var hours = Math.Min((seconds + 3599) / 3600, 99_999_999);
        return hours.ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>Parses a <c>grpc-timeout</c> value; false when it is malformed.</summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        // At most 8 digits: even 99999999H (3.6e18 ticks) fits a TimeSpan.
        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long? ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * TimeSpan.TicksPerMicrosecond,
            // A tick is 100 ns; round up so that the deadline is never shorter than the client's.
            'n' => (amount + 99) / 100,
            _ => null,
        };
        if (ticks is null)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    /// <summary>Percent-encodes a status message: UTF-8, bytes outside 0x20-0x7E and '%' as %XX.</summary>
    public static string EncodeMessage(string message)
    {
        var needs = false;
        foreach (var c in message)
        {
            if (c is < (char)0x20 or > (char)0x7E or '%')
            {
                needs = true;
                break;
            }
        }

        if (!needs)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append((char)b);
            }
        }

        return sb.ToString();
    }

    /// <summary>Decodes a percent-encoded status message; malformed escapes are kept as they are.</summary>
    public static string DecodeMessage(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (!value.Contains('%'))
        {
            return value;
        }

        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                bytes.Add(byte.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Base64 for binary metadata (sent padded; both padded and unpadded accepted).</summary>
    public static string EncodeBinary(byte[] value) => Convert.ToBase64String(value);

    /// <summary>Decodes binary metadata, padded or not.</summary>
    public static byte[] DecodeBinary(string value)
    {
        var trimmed = value.Trim();
        var padding = (4 - trimmed.Length % 4) % 4;
        return Convert.FromBase64String(padding is 1 or 2 or 3 && !trimmed.EndsWith('=') ? trimmed + new string('=', padding) : trimmed);
    }

    /// <summary>The gRPC status of a response whose HTTP status is not 200 (PROTOCOL-HTTP2's table).</summary>
    public static StatusCode FromHttpStatus(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    /// <summary>The <c>grpc-accept-encoding</c> value: identity and every provider's encoding.</summary>
    public static string AcceptEncoding(IEnumerable<ICompressionProvider> providers) =>
        string.Join(",", new[] { IdentityEncoding }.Concat(providers.Select(p => p.EncodingName)));

    /// <summary>A metadata entry's value as sent in a header (base64 for binary keys).</summary>
    public static string WireValue(Metadata.Entry entry) => entry.IsBinary ? EncodeBinary(entry.ValueBytes) : entry.Value;

    /// <summary>
    /// The call metadata in received headers or trailers: reserved and HTTP/2 headers left out,
    /// <c>-bin</c> values decoded; a malformed entry is left out and named to <paramref name="malformed"/>.
    /// </summary>
    public static Metadata ReadMetadata(IEnumerable<(string Key, IEnumerable<string?> Values)> headers, Action<string>? malformed = null)
    {
        var metadata = new Metadata();
        foreach (var (key, values) in headers)
        {
            var lower = key.ToLowerInvariant();
            if (IsReservedHeader(lower))
            {
                continue;
            }

            foreach (var value in values)
            {
                if (value is null)
                {
                    continue;
                }

                try
                {
                    metadata.Add(Metadata.Entry.IsBinaryKey(lower) ? new Metadata.Entry(lower, DecodeBinary(value)) : new Metadata.Entry(lower, value));
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    malformed?.Invoke(lower);
                }
            }
        }

        return metadata;
    }
}
