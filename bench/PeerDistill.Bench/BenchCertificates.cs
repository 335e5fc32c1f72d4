using System.Net;
using System.Security.Cryptography.X509Certificates;
using PeerDistill.Cluster.Security;

namespace PeerDistill.Bench;

/// <summary>
/// A cluster's certificates made in this process for a bench (what <c>peerdistill certs init</c> and
/// <c>certs issue</c> write): an authority and one node certificate per name, for loopback, in a
/// temporary folder that <see cref="Dispose"/> deletes.
/// </summary>
internal sealed class BenchCertificates : IDisposable
{
    private readonly DirectoryInfo _folder;

    private BenchCertificates(DirectoryInfo folder, X509Certificate2 authority)
    {
        _folder = folder;
        Authority = authority;
    }

    /// <summary>The authority's certificate (without its key): what API callers trust.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The folder the files are in.</summary>
    public string Folder => _folder.FullName;

    /// <summary>An authority and a certificate for each of <paramref name="nodes"/>, valid for a day.</summary>
    public static BenchCertificates Create(IEnumerable<string> nodes)
    {
        var folder = Directory.CreateTempSubdirectory("peerdistill-bench-certs-");
        try
        {
            using var authority = ClusterCertificates.CreateAuthority("PeerDistill bench CA", 1);
            File.WriteAllText(Path.Combine(folder.FullName, ClusterCertificates.AuthorityCertificateFile), authority.ExportCertificatePem() + "\n");
            foreach (var node in nodes)
            {
                using var issued = ClusterCertificates.Issue(authority, node, ["localhost"], [IPAddress.Loopback, IPAddress.IPv6Loopback], 1);
                ClusterCertificates.Write(issued, Path.Combine(folder.FullName, node + ".crt"), Path.Combine(folder.FullName, node + ".key"), overwrite: false);
            }

            return new BenchCertificates(folder, ClusterCertificates.LoadCertificate(Path.Combine(folder.FullName, ClusterCertificates.AuthorityCertificateFile)));
        }
        catch
        {
            folder.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>The TLS settings of node <paramref name="node"/> (one of those it was made with).</summary>
    public ClusterTlsOptions For(string node) => new()
    {
        Certificate = Path.Combine(Folder, node + ".crt"),
        Key = Path.Combine(Folder, node + ".key"),
        Authority = Path.Combine(Folder, ClusterCertificates.AuthorityCertificateFile),
    };

    public void Dispose()
    {
        Authority.Dispose();
        _folder.Delete(recursive: true);
    }
}
