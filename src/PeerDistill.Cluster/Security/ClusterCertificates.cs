using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerDistill.Cluster.Security;

/// <summary>
/// The certificates of a cluster without a company PKI: a cluster certificate authority, the node
/// certificates it issues (silos, workers, the coordinator; each usable as TLS server and client), and
/// the check that a remote certificate was issued by that authority and no other. Keys are ECDSA
/// P-256; files are PEM, keys PKCS#8, written readable by their owner only.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>The authority's certificate file in a certificates directory.</summary>
    public const string AuthorityCertificateFile = "ca.crt";

    /// <summary>The authority's key file in a certificates directory.</summary>
    public const string AuthorityKeyFile = "ca.key";

    /// <summary>How long an authority is valid unless told otherwise (10 years).</summary>
    public const int DefaultAuthorityDays = 3650;

    /// <summary>How long a node certificate is valid unless told otherwise (about 27 months, the longest browsers accept).</summary>
    public const int DefaultNodeDays = 825;

    /// <summary>The longest validity accepted, in days (about 30 years).</summary>
    public const int MaxDays = 11_000;

    /// <summary>Node names: 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit (they name files).</summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 1 and <= 64 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>A new authority: a self-signed CA certificate (path length 0: it signs node certificates only) with its key.</summary>
    public static X509Certificate2 CreateAuthority(string commonName, int days, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(days, MaxDays);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(commonName)}, O=PeerDistill"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(days));
    }

    /// <summary>
    /// A node certificate issued by <paramref name="authority"/> (which must hold its key): subject
    /// CN=<paramref name="name"/>, the name and <paramref name="dnsNames"/> and <paramref name="addresses"/>
    /// as subject alternative names, usable for TLS server and client authentication, with its key.
    /// </summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string name, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, int days, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a node name (1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit)", nameof(name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(days, MaxDays);
        using var authorityKey = authority.GetECDsaPrivateKey() ?? throw new ArgumentException("the authority certificate has no (ECDSA) private key", nameof(authority));
        var now = (time ?? TimeProvider.System).GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=PeerDistill"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames.Prepend(name).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            alternativeNames.AddDnsName(dns);
        }

        foreach (var address in addresses.Distinct())
        {
            alternativeNames.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(alternativeNames.Build());
        var notAfter = now.AddDays(days) < authority.NotAfter ? now.AddDays(days) : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number
        using var issued = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForECDsa(authorityKey), now.AddMinutes(-5), notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes a certificate (PEM) and its key (PKCS#8 PEM, created readable and writable by its owner
    /// only); refuses to replace either file unless <paramref name="overwrite"/>.
    /// </summary>
    public static void Write(X509Certificate2 certificate, string certificatePath, string keyPath, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("the certificate has no (ECDSA) private key", nameof(certificate));
        foreach (var path in new[] { certificatePath, keyPath })
        {
            if (!overwrite && File.Exists(path))
            {
                throw new IOException($"'{path}' exists; remove it first (or replace it on purpose with --force)");
            }
        }

        SecretFile.Write(keyPath, key.ExportPkcs8PrivateKeyPem(), SecretFile.OwnerOnly);
        SecretFile.Write(certificatePath, certificate.ExportCertificatePem() + "\n", SecretFile.OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>Loads a certificate with its key from PEM files.</summary>
    public static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        foreach (var path in new[] { certificatePath, keyPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"'{path}' does not exist", path);
            }
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"'{certificatePath}' with '{keyPath}' is not a PEM certificate and its key ({e.Message})", e);
        }
        catch (ArgumentException e)
        {
            // The platform's word for a key of another certificate (a rotation half written, or files mixed up).
            throw new InvalidDataException($"'{keyPath}' is not the key of '{certificatePath}': they do not belong together", e);
        }
    }

    /// <summary>Loads a certificate (no key) from a PEM file.</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath)
    {
        if (!File.Exists(certificatePath))
        {
            throw new FileNotFoundException($"'{certificatePath}' does not exist", certificatePath);
        }

        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"'{certificatePath}' is not a PEM certificate ({e.Message})", e);
        }
    }

    /// <summary>
    /// Whether <paramref name="remote"/> was issued by <paramref name="authority"/> and is valid now
    /// (signature, validity period, usage): the one check a silo, a worker or a client makes of a peer's
    /// certificate. The operating system's trust store plays no part; revocation is not checked (a
    /// cluster authority publishes no revocation list: rotate the authority to revoke). Null when
    /// accepted, else why not.
    /// </summary>
    public static string? Refusal(X509Certificate2? remote, X509Certificate2 authority, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        if (remote is null)
        {
            return "no certificate was presented";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(remote))
        {
            var problems = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct().ToList();
            return $"certificate '{remote.Subject}' is not valid from the cluster's authority: {(problems.Count == 0 ? "no chain to it" : string.Join("; ", problems))}";
        }

        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span))
        {
            return $"certificate '{remote.Subject}' chains to '{root.Subject}', not to the cluster's authority";
        }

        return remote.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)
            ? "the authority's own certificate is not a node certificate"
            : null;
    }

    /// <summary>A TLS validation callback that accepts only certificates <see cref="Refusal"/> accepts.</summary>
    public static RemoteCertificateValidationCallback Validator(X509Certificate2 authority) =>
        (_, certificate, _, _) => Refusal(certificate is null ? null : certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), authority) is null;

    /// <summary>
    /// TLS client settings for a caller of the API (not a node: it presents no certificate) that
    /// trusts servers whose certificate chains to <paramref name="authority"/> and names the host it
    /// dialled, and no other root (the system's trust store plays no part).
    /// </summary>
    public static SslClientAuthenticationOptions TrustServersOf(X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(authority);
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy, CertificateRevocationCheckMode = X509RevocationMode.NoCheck };
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal)
        .Replace("+", "\\+", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("<", "\\<", StringComparison.Ordinal).Replace(">", "\\>", StringComparison.Ordinal).Replace(";", "\\;", StringComparison.Ordinal);
}
