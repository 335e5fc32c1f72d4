using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Thousands of generated credentials thrown at the authentication path of a coordinator process
/// that takes API tokens and JWTs, as an outsider would send them: raw bytes in REST's Authorization
/// header (any byte but CR and LF, any length up to past the server's header limit) and gRPC
/// metadata; truncated, altered, oversized and mis-encoded tokens and JWTs. Never a 5xx, never
/// UNKNOWN or INTERNAL, nothing logged as a failure, and the process serves a valid caller after.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class GeneratedAuthInputTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MalformedCredentials_AreRefusedWith4xxOrUnauthenticated_NeverAFailure()
    {
        using var dir = new TempDirectory();
        using var rsa = RSA.Create(2048);
        var publicKey = Path.Combine(dir.Path, "sso.pub");
        await File.WriteAllTextAsync(publicKey, rsa.ExportSubjectPublicKeyInfoPem());
        var jwt = new Dictionary<string, string>
        {
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__ISSUER"] = "https://sso.test.example",
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__AUDIENCE"] = "peerdistill",
            ["PEERDISTILL_COORDINATOR__ACCESS__JWT__SIGNINGKEYS__0"] = publicKey,
        };
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: jwt);
        var random = new Random(2112);
        var validJwt = AccessControlTests.Jwt(rsa, "admin", null);
        var credentials = Generate(random, cluster.Token, validJwt).ToList();

        // REST, over raw TCP: the header's bytes exactly as generated.
        var rest = new Dictionary<int, int>();
        var http = new Uri(cluster.HttpUrl);
        foreach (var credential in credentials)
        {
            var status = await RawGetAsync(http, credential);
            rest[status] = rest.GetValueOrDefault(status) + 1;
            Assert.True(status is 400 or 401 or 403 or 429 or 431, $"REST answered {status} to an Authorization header of {credential.Length} bytes: {Show(credential)}");
        }

        // gRPC: the same credentials as `authorization` metadata (what an HTTP/2 client can send: no
        // bytes above 0x7E, none below 0x20), on a raw call.
        var grpc = new Dictionary<string, int>();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var credential in credentials.Where(c => c.All(b => b is >= 0x20 and <= 0x7E) && c.Length < 16 * 1024))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(cluster.Url), "peerdistill.v1.CohortService/ListCohorts"))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent([0, 0, 0, 0, 0]),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Headers.TryAddWithoutValidation("authorization", Encoding.ASCII.GetString(credential));
            using var response = await client.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.Single()
                : response.TrailingHeaders.TryGetValues("grpc-status", out var trailing) ? trailing.Single()
                : "http " + (int)response.StatusCode;
            grpc[status] = grpc.GetValueOrDefault(status) + 1;
            // 16 UNAUTHENTICATED, 8 RESOURCE_EXHAUSTED (the rate limit), 7 PERMISSION_DENIED; HTTP 431 for a header block too large.
            Assert.True(status is "16" or "8" or "7" or "http 431", $"gRPC answered {status} to authorization metadata of {credential.Length} bytes: {Show(credential)}");
        }

        output.WriteLine($"{credentials.Count} credentials; REST: {string.Join(", ", rest.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} x{kv.Value}"))}; gRPC: {string.Join(", ", grpc.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} x{kv.Value}"))}");
        Assert.True(credentials.Count >= 3000, $"only {credentials.Count} credentials generated");
        Assert.True(grpc.Values.Sum() >= 1000, $"only {grpc.Values.Sum()} gRPC calls made");

        // Served after, and nothing logged as a failure.
        using var valid = cluster.Http();
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("api/v1/runs")).StatusCode);
        using var viaJwt = cluster.Http("", validJwt);
        Assert.Equal(HttpStatusCode.OK, (await viaJwt.GetAsync("api/v1/runs")).StatusCode);
        Assert.False(cluster.CoordinatorProcess.HasExited);
        Assert.Empty(cluster.AnyLines("fail:"));
        Assert.Empty(cluster.AnyLines("Unhandled"));
    }

    /// <summary>Authorization header values: mutations of a valid token and a valid JWT, and junk.</summary>
    private static IEnumerable<byte[]> Generate(Random random, string token, string jwt)
    {
        byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
        string Bearer(string s) => "Bearer " + s;
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
        string Junk(int length) => new(Enumerable.Range(0, length).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray());
        string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var parts = jwt.Split('.');

        foreach (var prefix in Enumerable.Range(0, token.Length))
        {
            yield return Ascii(Bearer(token[..prefix]));
        }

        foreach (var prefix in Enumerable.Range(0, jwt.Length).Where(i => i % 4 == 0))
        {
            yield return Ascii(Bearer(jwt[..prefix]));
        }

        for (var i = 0; i < 1000; i++)
        {
            // One character of a valid token or JWT changed to another (not the last of a base64url
            // segment: its low bits are padding, so another letter there can encode the same bytes).
            var source = (i % 2 == 0 ? token : jwt).ToCharArray();
            int at;
            do
            {
                at = random.Next(source.Length - 1);
            }
            while (source[at + 1] == '.' || source[at] == '.');
            var replacement = source[at];
            while (replacement == source[at])
            {
                replacement = Alphabet[random.Next(Alphabet.Length)];
            }

            source[at] = replacement;
            yield return Ascii(Bearer(new string(source)));
        }

        for (var i = 0; i < 1000; i++)
        {
            // JWT-shaped junk, and JWTs whose header or payload is not what it claims.
            yield return (i % 6) switch
            {
                0 => Ascii(Bearer($"{Junk(random.Next(1, 60))}.{Junk(random.Next(1, 200))}.{Junk(random.Next(0, 100))}")),
                1 => Ascii(Bearer($"{B64("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}.")),
                2 => Ascii(Bearer($"{B64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")}.{parts[1]}.{parts[2]}")),
                3 => Ascii(Bearer($"{B64("{\"alg\":\"RS256\",\"kid\":\"" + new string('k', random.Next(1, 4000)) + "\"}")}.{parts[1]}.{parts[2]}")),
                4 => Ascii(Bearer($"{parts[0]}.{B64(Junk(random.Next(0, 300)))}.{parts[2]}")),
                _ => Ascii(Bearer($"{parts[0]}.{B64("{\"sub\":" + new string('[', random.Next(1, 3000)) + "}")}.{parts[2]}")),
            };
        }

        for (var i = 0; i < 1200; i++)
        {
            // Schemes, spaces and printable junk; then raw bytes (any but CR, LF; high bytes and controls too).
            yield return (i % 8) switch
            {
                0 => Ascii("Basic " + Junk(random.Next(0, 100))),
                1 => Ascii("bearer " + token + "x"),
                2 => Ascii("Bearer    " + token + "   x" + Junk(random.Next(0, 10))),
                3 => Ascii("Bearer"),
                4 => Ascii(Junk(random.Next(0, 300))),
                5 => Ascii(Bearer(Junk(random.Next(0, 300)))),
                _ => Enumerable.Range(0, random.Next(1, 300)).Select(_ => (byte)random.Next(0, 256)).Where(b => b is not (13 or 10 or 0)).ToArray(),
            };
        }

        // Huge: past the API's 8 KiB Authorization limit, past the server's 32 KiB header limit.
        foreach (var size in new[] { 8 * 1024 + 1, 12 * 1024, 17 * 1024, 40 * 1024, 100 * 1024 })
        {
            yield return Ascii(Bearer(Junk(size)));
            yield return Ascii(Bearer(parts[0] + "." + B64(Junk(size)) + "." + parts[2]));
        }
    }

    /// <summary>A GET of the API's runs with <paramref name="authorization"/> as the header's bytes, on a fresh connection; the status code.</summary>
    private static async Task<int> RawGetAsync(Uri http, byte[] authorization)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(http.Host, http.Port);
        await using var stream = tcp.GetStream();
        var head = Encoding.ASCII.GetBytes($"GET /api/v1/runs HTTP/1.1\r\nHost: {http.Authority}\r\nConnection: close\r\nAuthorization: ");
        await stream.WriteAsync(head);
        await stream.WriteAsync(authorization);
        await stream.WriteAsync("\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var status = await reader.ReadLineAsync() ?? throw new IOException("the coordinator closed the connection without an answer");
        var parts = status.Split(' ');
        return parts.Length >= 2 && int.TryParse(parts[1], out var code) ? code : throw new IOException($"not an HTTP status line: {status}");
    }

    private static string Show(byte[] credential) => credential.Length <= 120 ? Convert.ToHexString(credential) : Convert.ToHexString(credential.AsSpan(0, 120)) + "...";
}
