using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace PeerDistill.Api.Access;

/// <summary>
/// Who may call the coordinator's API and how often (subsection <c>Access</c> of the coordinator's
/// options): the file of the first admin token, JWT bearer for single sign-on, and rate limits.
/// API tokens need no options: they live in the database.
/// </summary>
public sealed class AccessOptions
{
    /// <summary>The first admin token's file name in the coordinator's data directory.</summary>
    public const string DefaultAdminTokenFile = "admin.token";

    /// <summary>Where the coordinator writes the admin token it makes on a first start (relative to its data directory; owner-only permissions).</summary>
    public string AdminTokenFile { get; set; } = DefaultAdminTokenFile;

    /// <summary>
    /// A file holding the admin token to make on a first start instead of a random one (a deployment's
    /// secret: <c>peerdistill tokens mint</c> writes one); null (the default): a random one, printed once
    /// and written to <see cref="AdminTokenFile"/>. Read only while the database has no token.
    /// </summary>
    public string? AdminTokenFromFile { get; set; }

    /// <summary>JWT bearer credentials (subsection <c>Jwt</c>); off unless an audience is set.</summary>
    public JwtAccessOptions Jwt { get; set; } = new();

    /// <summary>Requests per second and bursts (subsection <c>RateLimits</c>).</summary>
    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>
    /// For the API benchmark only (internal: never bound from configuration, so no flag, variable or
    /// file can set it): while true, every request is the admin <c>benchmark</c> without a credential
    /// and without rate limits, so that one process measures the API with and without access control.
    /// </summary>
    internal bool Bypassed { get; set; }

    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (string.IsNullOrWhiteSpace(AdminTokenFile))
        {
            yield return (nameof(AdminTokenFile), "is empty; name the file (in the data directory) the first admin token is written to");
        }

        foreach (var (key, message) in Jwt.Problems())
        {
            yield return (nameof(Jwt) + ":" + key, message);
        }

        foreach (var (key, message) in RateLimits.Problems())
        {
            yield return (nameof(RateLimits) + ":" + key, message);
        }
    }
}

/// <summary>
/// JWT bearer tokens from an identity provider: the issuer and audience they must name, the keys that
/// sign them (PEM public key files, RSA or EC, or files holding a base64 symmetric key of at least
/// 32 bytes), or an authority whose OpenID metadata publishes the keys; and which claims carry the
/// role (<c>reader</c>, <c>operator</c>, <c>admin</c>), the project and the caller's name.
/// </summary>
public sealed class JwtAccessOptions
{
    public const string DefaultRoleClaim = "role";
    public const string DefaultProjectClaim = "project";
    public const string DefaultNameClaim = "sub";

    /// <summary>The largest JWT accepted, in bytes (the handler's own default is 250 KB).</summary>
    public const int MaxTokenBytes = 16 * 1024;

    /// <summary>The issuer (<c>iss</c>) a token must name.</summary>
    public string? Issuer { get; set; }

    /// <summary>The audience (<c>aud</c>) a token must name; setting it turns JWT bearer on.</summary>
    public string? Audience { get; set; }

    /// <summary>Files of the keys that may sign a token.</summary>
    public List<string> SigningKeys { get; set; } = [];

    /// <summary>An OpenID authority whose metadata (<c>/.well-known/openid-configuration</c>) gives the issuer and signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>Whether the authority's metadata must come over https (default true).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim holding the role (default <see cref="DefaultRoleClaim"/>).</summary>
    public string RoleClaim { get; set; } = DefaultRoleClaim;

    /// <summary>The claim holding the project (default <see cref="DefaultProjectClaim"/>); absent in a token: every project.</summary>
    public string ProjectClaim { get; set; } = DefaultProjectClaim;

    /// <summary>The claim naming the caller in the audit trail (default <see cref="DefaultNameClaim"/>).</summary>
    public string NameClaim { get; set; } = DefaultNameClaim;

    /// <summary>How far clocks may disagree on a token's times (default 30 s).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether JWT bearer is on.</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(Audience) || !string.IsNullOrEmpty(Issuer) || !string.IsNullOrEmpty(Authority) || SigningKeys.Count > 0;

    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (!IsConfigured)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            yield return (nameof(Audience), "is not set; JWT bearer needs the audience its tokens are issued for");
        }

        if (string.IsNullOrWhiteSpace(Authority) && string.IsNullOrWhiteSpace(Issuer))
        {
            yield return (nameof(Issuer), "is not set; name the issuer tokens must come from (or an Authority)");
        }

        if (string.IsNullOrWhiteSpace(Authority) && SigningKeys.Count == 0)
        {
            yield return (nameof(SigningKeys), "is empty; give the files of the keys that sign tokens (or an Authority that publishes them)");
        }

        if (Authority is { Length: > 0 } authority && !Uri.TryCreate(authority, UriKind.Absolute, out _))
        {
            yield return (nameof(Authority), $"'{authority}' is not an absolute URL");
        }

        for (var i = 0; i < SigningKeys.Count; i++)
        {
            string? problem = null;
            try
            {
                _ = LoadKey(SigningKeys[i]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or FormatException or ArgumentException)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                yield return ($"{nameof(SigningKeys)}:{i}", problem);
            }
        }

        foreach (var (key, value) in new[] { (nameof(RoleClaim), RoleClaim), (nameof(ProjectClaim), ProjectClaim), (nameof(NameClaim), NameClaim) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                yield return (key, "is empty; name the claim");
            }
        }

        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(10))
        {
            yield return (nameof(ClockSkew), $"{ClockSkew} is not 0 to 10 minutes");
        }
    }

    /// <summary>The key in <paramref name="file"/>: a PEM public key (RSA or EC) or a certificate, or a base64 symmetric key of at least 32 bytes.</summary>
    /// <exception cref="FormatException">The file holds no such key (the message names the file, never its content).</exception>
    public static SecurityKey LoadKey(string file)
    {
        var text = File.ReadAllText(file).Trim();
        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            return new X509SecurityKey(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(text));
        }

        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            if (text.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            {
                throw new FormatException($"{file}: holds a private key; give the public key only (the coordinator only checks signatures)");
            }

            try
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                return new RsaSecurityKey(rsa) { KeyId = Path.GetFileNameWithoutExtension(file) };
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                var ec = ECDsa.Create();
                try
                {
                    ec.ImportFromPem(text);
                }
                catch (Exception inner) when (inner is CryptographicException or ArgumentException)
                {
                    ec.Dispose();
                    throw new FormatException($"{file}: not an RSA or EC public key in PEM");
                }

                return new ECDsaSecurityKey(ec) { KeyId = Path.GetFileNameWithoutExtension(file) };
            }
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new FormatException($"{file}: neither a PEM public key nor a base64 symmetric key");
        }

        return bytes.Length >= 32
            ? new SymmetricSecurityKey(bytes) { KeyId = Path.GetFileNameWithoutExtension(file) }
            : throw new FormatException($"{file}: a symmetric key of {bytes.Length} bytes is too short (at least 32)");
    }
}

/// <summary>
/// The API's rate limits (token buckets): each credential, each client address, and each address
/// whose requests carry no valid credential (a flood of bad tokens is held to this, and logged).
/// A request over a limit gets 429 (RESOURCE_EXHAUSTED over gRPC) with Retry-After.
/// </summary>
public sealed class RateLimitOptions
{
    public const int DefaultPerCredential = 100;
    public const int DefaultPerAddress = 400;
    public const int DefaultUnauthenticatedPerAddress = 10;

    /// <summary>Requests per second one credential may make (default <see cref="DefaultPerCredential"/>), bursts of twice that.</summary>
    public int PerCredential { get; set; } = DefaultPerCredential;

    /// <summary>Requests per second one client address may make, whatever its credentials (default <see cref="DefaultPerAddress"/>), bursts of twice that.</summary>
    public int PerAddress { get; set; } = DefaultPerAddress;

    /// <summary>Requests per second an address may make without a valid credential (default <see cref="DefaultUnauthenticatedPerAddress"/>), bursts of twice that; the health endpoint included.</summary>
    public int UnauthenticatedPerAddress { get; set; } = DefaultUnauthenticatedPerAddress;

    public IEnumerable<(string Key, string Message)> Problems()
    {
        foreach (var (key, value) in new[] { (nameof(PerCredential), PerCredential), (nameof(PerAddress), PerAddress), (nameof(UnauthenticatedPerAddress), UnauthenticatedPerAddress) })
        {
            if (value is < 1 or > 1_000_000)
            {
                yield return (key, $"{value} is not 1 to 1000000 requests per second");
            }
        }
    }
}
