using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace PeerDistill.Api.Rest;

/// <summary>What the REST handlers read from a request, each part checked with limits: bodies, media types, entity tags.</summary>
internal static class RestRequests
{
    /// <summary>The media types a cohort spec is accepted in, and the spec format each means.</summary>
    public static readonly IReadOnlyDictionary<string, string> SpecMediaTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["application/json"] = "json",
        ["application/yaml"] = "yaml",
        ["application/x-yaml"] = "yaml",
        ["text/yaml"] = "yaml",
        ["text/x-yaml"] = "yaml",
    };

    /// <summary>
    /// The body as UTF-8 text, at most <paramref name="limit"/> bytes; a <see cref="RestProblem"/>
    /// (413 beyond the limit, 400 for bytes that are not UTF-8) otherwise.
    /// </summary>
    public static async Task<string> ReadTextAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > limit)
        {
            throw TooLarge(declared.ToString(CultureInfo.InvariantCulture) + " bytes", limit);
        }

        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            if (buffer.Length + read > limit)
            {
                throw TooLarge("more than " + limit.ToString(CultureInfo.InvariantCulture) + " bytes", limit);
            }

            buffer.Write(chunk, 0, read);
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        try
        {
            var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            throw new RestProblem(StatusCodes.Status400BadRequest, "Body is not UTF-8", $"the request body is not UTF-8 text (invalid bytes at offset {e.Index})");
        }
    }

    /// <summary>
    /// The media type of the request's body, one of <paramref name="accepted"/> (with charset utf-8
    /// if it names one); a 415 <see cref="RestProblem"/> naming the accepted ones otherwise.
    /// </summary>
    public static string MediaType(HttpRequest request, IEnumerable<string> accepted)
    {
        var list = accepted.ToList();
        var given = request.ContentType;
        if (string.IsNullOrEmpty(given) || !MediaTypeHeaderValue.TryParse(given, out var parsed) || parsed.MediaType.Value is not { } type)
        {
            throw Unsupported(given, list);
        }

        var match = list.FirstOrDefault(a => string.Equals(a, type, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            throw Unsupported(given, list);
        }

        if (parsed.Charset.HasValue && !string.Equals(parsed.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase))
        {
            throw new RestProblem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"Content-Type: charset '{RestRequests.Shorten(parsed.Charset.Value)}' is not supported; send {match} in UTF-8 (charset=utf-8, or no charset)");
        }

        return match;
    }

    /// <summary>
    /// The version an <c>If-Match</c> header asks for: null when absent or <c>*</c>; a 412 when it
    /// can never match a run's ETag (a weak tag, or several); a 400 when it is not an entity tag.
    /// </summary>
    public static long? IfMatch(HttpRequest request)
    {
        var values = request.Headers.IfMatch;
        if (values.Count == 0)
        {
            return null;
        }

        var text = string.Join(",", values.ToArray()).Trim();
        if (text == "*")
        {
            return null;
        }

        if (text.Length > 64)
        {
            throw new RestProblem(StatusCodes.Status400BadRequest, "Bad If-Match", "If-Match: longer than any entity tag of this API (send the run's ETag as it came)");
        }

        if (text.StartsWith("W/", StringComparison.Ordinal) || text.Contains(',', StringComparison.Ordinal))
        {
            throw new RestProblem(StatusCodes.Status412PreconditionFailed, "Precondition failed", $"If-Match: '{text}' cannot match: send the one strong ETag of the run (e.g. \"42\")");
        }

        if (text.Length >= 3 && text[0] == '"' && text[^1] == '"' && long.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return version;
        }

        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            throw new RestProblem(StatusCodes.Status412PreconditionFailed, "Precondition failed", $"If-Match: {text} is no ETag of this run");
        }

        throw new RestProblem(StatusCodes.Status400BadRequest, "Bad If-Match", $"If-Match: '{text}' is not an entity tag (a quoted string, e.g. \"42\", or *)");
    }

    /// <summary>A query parameter as an integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public static int IntQuery(HttpRequest request, string name, int min, int max, int fallback)
    {
        var values = request.Query[name];
        if (values.Count == 0)
        {
            return fallback;
        }

        if (values.Count > 1 || !int.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"{name}: must be one whole number from {min} to {max}, got '{Shorten(string.Join(",", values.ToArray()))}'")
            {
                Errors = [new FieldProblem(name, $"must be a whole number from {min} to {max}", null, null)],
            };
        }

        return value;
    }

    /// <summary>A query parameter given at most once, or null.</summary>
    public static string? StringQuery(HttpRequest request, string name, int maxLength)
    {
        var values = request.Query[name];
        if (values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1 || values[0] is not { } value || value.Length > maxLength)
        {
            throw new RestProblem(StatusCodes.Status400BadRequest, "Bad query parameter", $"{name}: give it once, at most {maxLength} characters")
            {
                Errors = [new FieldProblem(name, $"give it once, at most {maxLength} characters", null, null)],
            };
        }

        return value;
    }

    /// <summary>At most 80 characters of <paramref name="text"/>, for echoing input in an error.</summary>
    public static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 80 ? text : text[..80] + "...";

    private static RestProblem TooLarge(string size, int limit) =>
        new(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the request body is {size}; the limit is {limit} bytes");

    private static RestProblem Unsupported(string? given, IReadOnlyList<string> accepted) =>
        new(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"Content-Type: '{Shorten(given)}' is not accepted here; send one of {string.Join(", ", accepted)}");
}
