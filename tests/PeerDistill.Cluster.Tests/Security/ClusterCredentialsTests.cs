using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerDistill.Cluster.Security;
using Xunit;

namespace PeerDistill.Cluster.Tests.Security;

/// <summary>A node's TLS credentials read again when their files change, and the handshakes made with them.</summary>
public sealed class ClusterCredentialsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("peerdistill-credentials-");
    private readonly X509Certificate2 _authority = ClusterCertificates.CreateAuthority("test CA", 30);
    private readonly X509Certificate2 _otherAuthority = ClusterCertificates.CreateAuthority("other CA", 30);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly Lines _log = new();

    public void Dispose()
    {
        _authority.Dispose();
        _otherAuthority.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public void ReplacedFiles_AreUsedOnceTheCheckIntervalPassed_NotBefore()
    {
        var files = Files("node", _authority);
        var credentials = Credentials(files);
        var first = credentials.Current.Certificate.SerialNumber;

        var second = Issue(files, _authority);
        Assert.NotEqual(first, second);
        Assert.Equal(first, credentials.Current.Certificate.SerialNumber);
        _clock.Advance(ClusterCredentials.CheckInterval);

        Assert.Equal(second, credentials.Current.Certificate.SerialNumber);
        Assert.Single(_log.Logged, l => l.Contains($"TLS certificate reloaded from '{files.Certificate}': CN=node, O=PeerDistill, serial {second}", StringComparison.Ordinal));
        _clock.Advance(ClusterCredentials.CheckInterval);
        Assert.Equal(second, credentials.Current.Certificate.SerialNumber);
        Assert.Single(_log.Logged); // unchanged files are not loaded again
    }

    [Fact]
    public void HalfWrittenRotation_KeepsThePreviousCertificate_UntilTheKeyArrives()
    {
        var files = Files("node", _authority);
        var credentials = Credentials(files);
        var first = credentials.Current.Certificate.SerialNumber;
        var oldKey = File.ReadAllText(files.Key!);
        var second = Issue(files, _authority);
        var newKey = File.ReadAllText(files.Key!);
        File.WriteAllText(files.Key!, oldKey); // the certificate is new, its key not yet

        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(ClusterCredentials.CheckInterval);
            Assert.Equal(first, credentials.Current.Certificate.SerialNumber);
        }

        var warning = Assert.Single(_log.Logged);
        Assert.Contains("TLS certificate files changed but were not loaded", warning, StringComparison.Ordinal);
        Assert.Contains(files.Certificate!, warning, StringComparison.Ordinal);

        File.WriteAllText(files.Key!, newKey);
        _clock.Advance(ClusterCredentials.CheckInterval);
        Assert.Equal(second, credentials.Current.Certificate.SerialNumber);
    }

    [Fact]
    public void CertificateOfAnotherAuthority_IsNotLoaded()
    {
        var files = Files("node", _authority);
        var credentials = Credentials(files);
        var first = credentials.Current.Certificate.SerialNumber;

        Issue(files, _otherAuthority);
        _clock.Advance(ClusterCredentials.CheckInterval);

        Assert.Equal(first, credentials.Current.Certificate.SerialNumber);
        Assert.Contains("this node's own certificate 'CN=node, O=PeerDistill' is not valid from the cluster's authority", Assert.Single(_log.Logged), StringComparison.Ordinal);
    }

    [Fact]
    public void FilesThatDoNotLoad_AreRefusedAtStart_NamingTheFile()
    {
        var files = Files("node", _authority);
        File.WriteAllText(files.Key!, "not a key");

        var e = Assert.Throws<InvalidDataException>(() => Credentials(files));
        Assert.Contains(files.Certificate!, e.Message, StringComparison.Ordinal);
        Assert.Contains(files.Key!, e.Message, StringComparison.Ordinal);
        Assert.Contains(files.Problems(), p => p.Key == "Certificate" && p.Message.StartsWith($"'{files.Certificate}' with '{files.Key}' is not a PEM certificate and its key", StringComparison.Ordinal));

        // The key of another certificate: named with the certificate it does not belong to.
        var other = Files("other", _authority);
        File.Copy(other.Key!, files.Key!, overwrite: true);
        var mismatch = $"'{files.Key}' is not the key of '{files.Certificate}': they do not belong together";
        Assert.Equal(mismatch, Assert.Throws<InvalidDataException>(() => Credentials(files)).Message);
        Assert.Equal([("Certificate", mismatch)], files.Problems());
    }

    [Fact]
    public async Task MutualTls_AcceptsTheClustersNodes_RefusesOthers_AndServesARotatedCertificate()
    {
        var serverFiles = Files("server", _authority);
        var server = Credentials(serverFiles);
        var client = Credentials(Files("client", _authority));
        var stranger = Credentials(Files("stranger", _otherAuthority, authorityOfFiles: _otherAuthority));

        Assert.Equal(server.Current.Certificate.SerialNumber, await HandshakeAsync(server, client.ClientOptions()));
        Assert.Null(await HandshakeAsync(server, stranger.ClientOptions()));
        Assert.Null(await HandshakeAsync(server, new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true }));
        Assert.Equal(2, server.Refusals.Refused);

        // A node's client accepts only a server of the cluster's authority.
        Assert.Null(await HandshakeAsync(stranger, client.ClientOptions(), requireClientCertificate: false));
        Assert.Equal(1, client.Refusals.Refused);

        // The API's side: no client certificate asked for; a caller trusting the authority checks the host name too.
        Assert.Equal(server.Current.Certificate.SerialNumber, await HandshakeAsync(server, ClusterCertificates.TrustServersOf(_authority), requireClientCertificate: false, host: "server"));
        Assert.Null(await HandshakeAsync(server, ClusterCertificates.TrustServersOf(_authority), requireClientCertificate: false, host: "elsewhere"));
        Assert.Null(await HandshakeAsync(server, ClusterCertificates.TrustServersOf(_otherAuthority), requireClientCertificate: false, host: "server"));

        var rotated = Issue(serverFiles, _authority);
        _clock.Advance(ClusterCredentials.CheckInterval);
        Assert.Equal(rotated, await HandshakeAsync(server, client.ClientOptions()));
    }

    /// <summary>A node certificate of <paramref name="issuer"/> and the authority file (<paramref name="authorityOfFiles"/>, default the cluster's) under <paramref name="name"/>.</summary>
    private ClusterTlsOptions Files(string name, X509Certificate2 issuer, X509Certificate2? authorityOfFiles = null)
    {
        var files = new ClusterTlsOptions { Certificate = Path.Combine(_dir.FullName, name + ".crt"), Key = Path.Combine(_dir.FullName, name + ".key"), Authority = Path.Combine(_dir.FullName, name + "-ca.crt") };
        File.WriteAllText(files.Authority!, (authorityOfFiles ?? _authority).ExportCertificatePem() + "\n");
        Issue(files, issuer);
        return files;
    }

    /// <summary>Writes a newly issued certificate for the files' node over them; its serial number.</summary>
    private static string Issue(ClusterTlsOptions files, X509Certificate2 issuer)
    {
        using var node = ClusterCertificates.Issue(issuer, Path.GetFileNameWithoutExtension(files.Certificate!), ["localhost"], [IPAddress.Loopback], 10);
        ClusterCertificates.Write(node, files.Certificate!, files.Key!, overwrite: true);
        return node.SerialNumber;
    }

    private Counted Credentials(ClusterTlsOptions files)
    {
        var refusals = new TlsRefusals(NullLogger<TlsRefusals>.Instance, _clock);
        return new Counted(new ClusterCredentials(files, refusals, _clock, _log), refusals);
    }

    /// <summary>
    /// A TLS handshake on loopback, the server with <paramref name="server"/>'s options, the client
    /// with <paramref name="client"/>: the serial number of the server certificate the client saw,
    /// or null when either side refused.
    /// </summary>
    private static async Task<string?> HandshakeAsync(Counted server, SslClientAuthenticationOptions client, bool requireClientCertificate = true, string host = "server")
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serverSide = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(accepted.GetStream(), false);
            try
            {
                await tls.AuthenticateAsServerAsync(server.Credentials.ServerOptions(requireClientCertificate));
                // TLS 1.3 clients learn of a refused certificate on their first read: the server's answer.
                await tls.WriteAsync(new byte[] { 1 });
                return true;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                return false;
            }
        });
        string? seen;
        using (var connection = new TcpClient())
        {
            await connection.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            await using var clientTls = new SslStream(connection.GetStream(), false);
            client.TargetHost = host;
            try
            {
                await clientTls.AuthenticateAsClientAsync(client);
                seen = await clientTls.ReadAsync(new byte[1]) == 1 ? clientTls.RemoteCertificate!.GetSerialNumberString() : null;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                seen = null;
            }
        }

        // The client's side is closed: a server still waiting for it ends too.
        return await serverSide ? seen : null;
    }

    private sealed record Counted(ClusterCredentials Credentials, TlsRefusals Refusals)
    {
        public ClusterTls Current => Credentials.Current;

        public SslClientAuthenticationOptions ClientOptions() => Credentials.ClientOptions();
    }

    private sealed class Lines : ILogger<ClusterCredentials>
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logged.Add(formatter(state, exception));
    }
}
