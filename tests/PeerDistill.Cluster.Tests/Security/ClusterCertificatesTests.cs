using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using PeerDistill.Cluster.Security;
using Xunit;

namespace PeerDistill.Cluster.Tests.Security;

/// <summary>The cluster's authority, the node certificates it issues, and the one check of a remote certificate.</summary>
public sealed class ClusterCertificatesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("peerdistill-certs-");
    private readonly X509Certificate2 _authority = ClusterCertificates.CreateAuthority("test CA", 30);
    private readonly X509Certificate2 _otherAuthority = ClusterCertificates.CreateAuthority("test CA", 30);

    public void Dispose()
    {
        _authority.Dispose();
        _otherAuthority.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public void IssuedNode_IsAccepted_WithItsNamesAndBothTlsUsages()
    {
        using var node = ClusterCertificates.Issue(_authority, "worker-1", ["localhost", "w1.cluster"], [IPAddress.Loopback, IPAddress.Parse("10.0.0.2")], 10);

        Assert.Null(ClusterCertificates.Refusal(node, _authority));
        Assert.True(node.HasPrivateKey);
        Assert.Equal("CN=worker-1, O=PeerDistill", node.Subject);
        var names = node.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["worker-1", "localhost", "w1.cluster"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.Parse("10.0.0.2")], names.EnumerateIPAddresses());
        var usages = node.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        Assert.False(node.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public void SelfSigned_OtherAuthority_Expired_TheAuthorityItself_AndNone_AreRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var selfSigned = new CertificateRequest("CN=worker-1, O=PeerDistill", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var foreign = ClusterCertificates.Issue(_otherAuthority, "worker-1", [], [], 10);
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-10));
        using var pastAuthority = ClusterCertificates.CreateAuthority("test CA", 30, past);
        using var expired = ClusterCertificates.Issue(pastAuthority, "worker-1", [], [], 2, past);

        Assert.Contains("not valid from the cluster's authority", ClusterCertificates.Refusal(selfSigned, _authority), StringComparison.Ordinal);
        Assert.Contains("not valid from the cluster's authority", ClusterCertificates.Refusal(foreign, _authority), StringComparison.Ordinal);
        Assert.Contains("not valid from the cluster's authority", ClusterCertificates.Refusal(expired, pastAuthority), StringComparison.Ordinal);
        Assert.Null(ClusterCertificates.Refusal(expired, pastAuthority, past));
        Assert.Equal("the authority's own certificate is not a node certificate", ClusterCertificates.Refusal(_authority, _authority));
        Assert.Equal("no certificate was presented", ClusterCertificates.Refusal(null, _authority));
    }

    [Fact]
    public void Node_NeverOutlivesItsAuthority_AndBadNamesAreRefused()
    {
        using var node = ClusterCertificates.Issue(_authority, "n", [], [], 3000);
        Assert.True(node.NotAfter <= _authority.NotAfter);
        Assert.Throws<ArgumentException>(() => ClusterCertificates.Issue(_authority, "../x", [], [], 10));
        Assert.Throws<ArgumentException>(() => ClusterCertificates.Issue(_authority, new string('a', 65), [], [], 10));
        using var noKey = X509CertificateLoader.LoadCertificate(_authority.RawData);
        Assert.Throws<ArgumentException>(() => ClusterCertificates.Issue(noKey, "n", [], [], 10));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // file modes
    public void Written_KeyOwnerOnly_NothingReplacedUnlessAsked_AndLoadedBack()
    {
        using var node = ClusterCertificates.Issue(_authority, "node", [], [], 10);
        var (crt, key) = (Path.Combine(_dir.FullName, "sub", "node.crt"), Path.Combine(_dir.FullName, "sub", "node.key"));
        ClusterCertificates.Write(node, crt, key, overwrite: false);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(key), StringComparison.Ordinal);
        Assert.Throws<IOException>(() => ClusterCertificates.Write(node, crt, key, overwrite: false));
        ClusterCertificates.Write(node, crt, key, overwrite: true);
        using var loaded = ClusterCertificates.Load(crt, key);
        Assert.Equal(node.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.HasPrivateKey);
        Assert.Null(ClusterCertificates.Refusal(ClusterCertificates.LoadCertificate(crt), _authority));
        File.WriteAllText(Path.Combine(_dir.FullName, "junk.crt"), "not a certificate");
        Assert.Throws<InvalidDataException>(() => ClusterCertificates.LoadCertificate(Path.Combine(_dir.FullName, "junk.crt")));
        Assert.Throws<FileNotFoundException>(() => ClusterCertificates.Load(crt, Path.Combine(_dir.FullName, "missing.key")));
    }

    [Fact]
    public async Task MutualTls_OverLoopback_AcceptsTheClustersNodes_RefusesAnotherAuthoritysClient()
    {
        using var server = Reloaded(ClusterCertificates.Issue(_authority, "server", [], [IPAddress.Loopback], 10));
        using var member = Reloaded(ClusterCertificates.Issue(_authority, "member", [], [], 10));
        using var outsider = Reloaded(ClusterCertificates.Issue(_otherAuthority, "member", [], [], 10));

        Assert.True(await HandshakeAsync(server, member));
        Assert.False(await HandshakeAsync(server, outsider));
    }

    [Fact]
    public void Refusals_AreCounted_EachReasonLoggedOnceInTenSeconds_AtMostTenLinesASecond()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logger = new Lines();
        var refusals = new TlsRefusals(logger, clock);
        using var foreign = ClusterCertificates.Issue(_otherAuthority, "w2", [], [], 10);
        using var member = ClusterCertificates.Issue(_authority, "w1", [], [], 10);

        Assert.True(refusals.Accepts(member, _authority));
        for (var i = 0; i < 5; i++)
        {
            Assert.False(refusals.Accepts(foreign, _authority));
        }

        Assert.Single(logger.Logged);
        Assert.Contains("'CN=w2, O=PeerDistill' is not valid from the cluster's authority", logger.Logged[0], StringComparison.Ordinal);
        var strangers = Enumerable.Range(0, 20).Select(i => ClusterCertificates.Issue(_otherAuthority, $"s{i}", [], [], 10)).ToList();
        strangers.ForEach(c => refusals.Accepts(c, _authority));
        Assert.Equal(TlsRefusals.MaxLinesPerSecond, logger.Logged.Count); // 1 + 9 strangers in this second
        clock.Advance(TlsRefusals.RepeatInterval);
        refusals.Accepts(foreign, _authority);
        Assert.Equal(TlsRefusals.MaxLinesPerSecond + 1, logger.Logged.Count);
        Assert.Equal(26, refusals.Refused);
        Assert.EndsWith("(26 refused so far)", logger.Logged[^1], StringComparison.Ordinal);
        strangers.ForEach(c => c.Dispose());
    }

    /// <summary>A logger keeping each formatted line.</summary>
    private sealed class Lines : Microsoft.Extensions.Logging.ILogger<TlsRefusals>
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logged.Add(formatter(state, exception));
    }

    /// <summary>Whether a TLS handshake with client certificates, each side checking the other with the cluster's authority, succeeds.</summary>
    private async Task<bool> HandshakeAsync(X509Certificate2 serverCertificate, X509Certificate2 clientCertificate)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverSide = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(accepted.GetStream(), false);
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = serverCertificate, ClientCertificateRequired = true, RemoteCertificateValidationCallback = ClusterCertificates.Validator(_authority) });
                return true;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                return false;
            }
        });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var clientTls = new SslStream(client.GetStream(), false);
        var clientAccepted = true;
        try
        {
            await clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "server",
                ClientCertificates = [clientCertificate],
                RemoteCertificateValidationCallback = ClusterCertificates.Validator(_authority),
            });
            await clientTls.WriteAsync(new byte[] { 1 });
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            clientAccepted = false;
        }

        return await serverSide && clientAccepted;
    }

    /// <summary>The certificate with its key in a form the platform's TLS can use (PKCS#12 round trip).</summary>
    private static X509Certificate2 Reloaded(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }
}
