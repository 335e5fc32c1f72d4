using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PeerDistill.Cluster.Security;

/// <summary>
/// TLS on every endpoint of a coordinator or a worker (a <c>Tls</c> section of its settings): mutual
/// on the Orleans silo connections and the PeerExchange, server-only on the coordinator's API ports;
/// this node's certificate and key, and the cluster's authority, as PEM files (what
/// <c>peerdistill certs</c> writes), read again when they change (<see cref="ClusterCredentials"/>).
/// All three, or none (then every connection is cleartext).
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>This node's certificate (PEM), issued by the cluster's authority.</summary>
    public string? Certificate { get; set; }

    /// <summary>Its key (PKCS#8 PEM).</summary>
    public string? Key { get; set; }

    /// <summary>The cluster's authority (PEM): a remote silo's certificate must be issued by it.</summary>
    public string? Authority { get; set; }

    /// <summary>Whether any of the files is named.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(Certificate) || !string.IsNullOrWhiteSpace(Key) || !string.IsNullOrWhiteSpace(Authority);

    /// <summary>Each problem (a key and what is wrong with it): a file missing, not named, or not a certificate and key of the authority.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (!IsConfigured)
        {
            yield break;
        }

        var missing = new[] { (nameof(Certificate), Certificate), (nameof(Key), Key), (nameof(Authority), Authority) }.Where(f => string.IsNullOrWhiteSpace(f.Item2)).Select(f => f.Item1).ToList();
        if (missing.Count > 0)
        {
            foreach (var key in missing)
            {
                yield return (key, "is not set; TLS needs this node's certificate, its key and the cluster's authority (peerdistill certs init / issue)");
            }

            yield break;
        }

        string? problem;
        try
        {
            using var tls = Load();
            problem = tls.Problem();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            yield return (nameof(Certificate), problem);
        }
    }

    /// <summary>The certificate with its key and the authority, read from their files.</summary>
    public ClusterTls Load()
    {
        using var pem = ClusterCertificates.Load(Certificate ?? throw new InvalidOperationException("no certificate is named"), Key ?? throw new InvalidOperationException("no key is named"));
        // The platform's TLS takes a key in the form a PKCS#12 import gives it.
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        return new ClusterTls(certificate, ClusterCertificates.LoadCertificate(Authority ?? throw new InvalidOperationException("no authority is named")));
    }
}

/// <summary>
/// A node's TLS credentials as read at one moment: its certificate (with key), the cluster's
/// authority, and the certificate in the form a TLS server hands every handshake (built once).
/// </summary>
public sealed record ClusterTls(X509Certificate2 Certificate, X509Certificate2 Authority) : IDisposable
{
    private SslStreamCertificateContext? _serverContext;

    /// <summary>Null when the certificate is one of the authority's, valid now; else why not.</summary>
    public string? Problem() => ClusterCertificates.Refusal(Certificate, Authority) is { } refusal ? $"this node's own {refusal}" : null;

    /// <summary>The certificate as a TLS server presents it (built on first use; no chain is fetched: clients hold the authority).</summary>
    public SslStreamCertificateContext ServerContext => _serverContext ??= SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true);

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}
