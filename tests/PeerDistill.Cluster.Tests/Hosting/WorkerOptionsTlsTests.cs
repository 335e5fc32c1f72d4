using System.Net;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Security;
using Xunit;

namespace PeerDistill.Cluster.Tests.Hosting;

/// <summary>What TLS changes in a worker's settings: where it may listen, and the scheme of the address it advertises.</summary>
public sealed class WorkerOptionsTlsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("peerdistill-worker-tls-");
    private readonly ClusterTlsOptions _tls;

    public WorkerOptionsTlsTests()
    {
        using var authority = ClusterCertificates.CreateAuthority("test CA", 30);
        using var node = ClusterCertificates.Issue(authority, "w1", [], [IPAddress.Loopback], 10);
        _tls = new ClusterTlsOptions { Certificate = Path.Combine(_dir.FullName, "w1.crt"), Key = Path.Combine(_dir.FullName, "w1.key"), Authority = Path.Combine(_dir.FullName, "ca.crt") };
        ClusterCertificates.Write(node, _tls.Certificate, _tls.Key, overwrite: false);
        File.WriteAllText(_tls.Authority, authority.ExportCertificatePem() + "\n");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void BeyondLoopback_WithTls_NeedsNoInsecure_WithoutIt_Does()
    {
        Assert.Empty(Options("0.0.0.0", _tls).Problems());
        var (key, message) = Assert.Single(Options("0.0.0.0", new ClusterTlsOptions()).Problems());
        Assert.Equal("Host", key);
        Assert.Contains("neither authenticated nor encrypted", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.2:7000", true, null)]
    [InlineData("https://10.0.0.2:7000", true, null)]
    [InlineData("http://10.0.0.2:7000", true, "is a cleartext address, but with TLS (Worker:Tls) the PeerExchange serves https")]
    [InlineData("10.0.0.2:7000", false, null)]
    [InlineData("http://10.0.0.2:7000", false, null)]
    [InlineData("https://10.0.0.2:7000", false, "is an https address, but without TLS (Worker:Tls) the PeerExchange serves cleartext")]
    public void AdvertisedAddress_HasTheSchemeTheExchangeServes(string advertise, bool tls, string? problem)
    {
        var options = Options("127.0.0.1", tls ? _tls : new ClusterTlsOptions());
        options.Advertise = advertise;

        var problems = options.Problems().ToList();

        if (problem is null)
        {
            Assert.Empty(problems);
        }
        else
        {
            var (key, message) = Assert.Single(problems);
            Assert.Equal(("Advertise", true), (key, message.Contains(problem, StringComparison.Ordinal)));
        }
    }

    private static WorkerOptions Options(string host, ClusterTlsOptions tls) => new() { Coordinator = "127.0.0.1:11111", Host = host, Tls = tls };
}
