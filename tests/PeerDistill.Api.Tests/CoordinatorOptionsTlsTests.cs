using System.Net;
using PeerDistill.Cluster.Security;
using Xunit;

namespace PeerDistill.Api.Tests;

/// <summary>What TLS changes in a coordinator's settings: with its certificates it may listen beyond loopback.</summary>
public sealed class CoordinatorOptionsTlsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("peerdistill-coordinator-tls-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void BeyondLoopback_WithTls_NeedsNoInsecure_WithoutIt_Does()
    {
        using var authority = ClusterCertificates.CreateAuthority("test CA", 30);
        using var node = ClusterCertificates.Issue(authority, "coordinator", [], [IPAddress.Loopback], 10);
        var tls = new ClusterTlsOptions { Certificate = Path.Combine(_dir.FullName, "coordinator.crt"), Key = Path.Combine(_dir.FullName, "coordinator.key"), Authority = Path.Combine(_dir.FullName, "ca.crt") };
        ClusterCertificates.Write(node, tls.Certificate, tls.Key, overwrite: false);
        File.WriteAllText(tls.Authority, authority.ExportCertificatePem() + "\n");

        Assert.Empty(new CoordinatorOptions { Host = "0.0.0.0", Tls = tls }.Problems());
        var (key, message) = Assert.Single(new CoordinatorOptions { Host = "0.0.0.0" }.Problems());
        Assert.Equal("Host", key);
        Assert.Contains("neither authenticated nor encrypted", message, StringComparison.Ordinal);
    }
}
