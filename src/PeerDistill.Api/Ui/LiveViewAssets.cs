using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace PeerDistill.Api.Ui;

/// <summary>
/// The live view's three files (<c>Ui/Assets</c>, embedded in this assembly): no data in them, so they
/// are served without credentials. Each answer carries a strict Content-Security-Policy (only this
/// origin's script, style and connections; no inline script or style, no frames, no other origin),
/// <c>Cache-Control: no-cache</c> with a strong ETag of the content (a browser asks again on every
/// load and gets 304 until the coordinator serves other files: never a stale page after an upgrade),
/// <c>nosniff</c> and <c>no-referrer</c>.
/// </summary>
internal sealed class LiveViewAssets
{
    /// <summary>The logical name prefix of the embedded files (see the project file).</summary>
    public const string ResourcePrefix = "peerdistill/ui/";

    /// <summary>The policy every file is served with.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly FrozenDictionary<string, Asset> _assets;

    public LiveViewAssets()
    {
        var assembly = typeof(LiveViewAssets).Assembly;
        _assets = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .ToFrozenDictionary(n => n[ResourcePrefix.Length..], n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                var bytes = copy.ToArray();
                return new Asset(bytes, ContentType(n), "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..32] + "\"");
            }, StringComparer.Ordinal);
    }

    /// <summary>The files served, by name.</summary>
    public static IReadOnlyList<string> Files { get; } = ["index.html", "app.js", "app.css"];

    /// <summary>The file <paramref name="name"/> with its headers: 200, or 304 for a matching If-None-Match; 404 for a name not served.</summary>
    public IResult Serve(string name, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!_assets.TryGetValue(name, out var asset))
        {
            return TypedResults.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Select(t => t.Trim()).Any(t => t == asset.ETag || t == "*")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Content, string ContentType, string ETag);
}
