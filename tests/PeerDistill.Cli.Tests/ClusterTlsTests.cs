using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PeerDistill.Cluster.Security;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Mutual TLS between the silos, on real processes: a coordinator and a worker with certificates of
/// the cluster's authority train a cohort (per-step losses those of the embedded run), while silos
/// with another authority's certificate, a self-signed one, or none are refused and never join.
/// </summary>
public sealed class ClusterTlsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OnlySilosWithTheClustersCertificatesJoin_TheCohortTrainsAsIfAlone()
    {
        using var dir = new TempDirectory();
        foreach (var args in new[] { new[] { "certs", "init" }, ["certs", "issue", "coordinator"], ["certs", "issue", "w1"], ["certs", "init", "--dir", "other"], ["certs", "issue", "w2", "--dir", "other"] })
        {
            var made = CliProcess.RunIn(dir.Path, args);
            Assert.True(made.ExitCode == 0, made.Stderr);
        }

        WriteSelfSigned(Path.Combine(dir.Path, "self"), "w3");
        string Cert(string folder, string name, string ext) => Path.Combine(dir.Path, folder, name + ext);
        var tls = new Dictionary<string, string>
        {
            ["PEERDISTILL_COORDINATOR__TLS__CERTIFICATE"] = Cert("certs", "coordinator", ".crt"),
            ["PEERDISTILL_COORDINATOR__TLS__KEY"] = Cert("certs", "coordinator", ".key"),
            ["PEERDISTILL_COORDINATOR__TLS__AUTHORITY"] = Cert("certs", "ca", ".crt"),
        };
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: tls, authority: Cert("certs", "ca", ".crt"));

        cluster.StartWorker("w1", 2, null, "--tls-cert", Cert("certs", "w1", ".crt"), "--tls-key", Cert("certs", "w1", ".key"), "--tls-ca", Cert("certs", "ca", ".crt"));
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));

        // Another authority's node, and a self-signed one: each refused by the coordinator, with the reason.
        cluster.StartWorker("w2", 1, null, "--tls-cert", Cert("other", "w2", ".crt"), "--tls-key", Cert("other", "w2", ".key"), "--tls-ca", Cert("other", "ca", ".crt"));
        await cluster.WaitForLineAsync("coordinator", "refused a cluster connection: certificate 'CN=w2, O=PeerDistill' is not valid from the cluster's authority", 1, TimeSpan.FromSeconds(60));

        // A script's TLS connection to the silo port, with a self-signed certificate and with none: both refused.
        using (var selfSigned = X509CertificateLoader.LoadPkcs12(ClusterCertificates.Load(Cert("self", "w3", ".crt"), Cert("self", "w3", ".key")).Export(X509ContentType.Pkcs12), null))
        {
            Assert.False(await ScriptConnectsAsync(cluster.ClusterEndpoint, selfSigned), "a self-signed certificate was let in");
        }

        await cluster.WaitForLineAsync("coordinator", "refused a cluster connection: certificate 'CN=w3' is not valid from the cluster's authority", 1, TimeSpan.FromSeconds(60));
        Assert.False(await ScriptConnectsAsync(cluster.ClusterEndpoint, null), "a connection without a certificate was let in");

        // A silo without TLS: its cleartext connection fails the coordinator's handshake.
        var handshakes = cluster.Printed("coordinator", "Authentication failed");
        cluster.StartWorker("w4");
        await cluster.WaitForLineAsync("coordinator", "Authentication failed", handshakes + 1, TimeSpan.FromSeconds(60));

        // The cohort trains on w1 alone, step for step as the embedded run of the same spec.
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 2", StringComparison.Ordinal));
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--ca", Cert("certs", "ca", ".crt"));
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var done = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(3));
        Assert.Equal(CohortState.Completed, done.State);
        Assert.All(done.Peers, p => Assert.Equal("w1", p.WorkerId));

        using var http = cluster.Http();
        using var workers = JsonDocument.Parse(await http.GetStringAsync("api/v1/workers"));
        Assert.Equal(["w1"], workers.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("worker").GetString()));
        foreach (var refused in new[] { "w2", "w4" })
        {
            Assert.Equal(0, cluster.Printed(refused, "joined the cluster"));
        }

        MetricsFiles.AssertEqualToEmbedded(dir.Path, spec, Path.Combine(cluster.Runs, "pair", done.Run), "distributed over TLS");
    }

    /// <summary>
    /// Whether a TLS connection to the silo port at <paramref name="endpoint"/>, presenting
    /// <paramref name="certificate"/> (or none) and trusting any server, stays open: a refused one is
    /// closed by the silo (the read ends at once); one let in would wait for Orleans' preamble, so a read
    /// that waits 15 s counts as let in.
    /// </summary>
    private static async Task<bool> ScriptConnectsAsync(string endpoint, X509Certificate2? certificate)
    {
        var at = System.Net.IPEndPoint.Parse(endpoint);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(at.Address, at.Port);
        await using var tls = new System.Net.Security.SslStream(client.GetStream(), false);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "peerdistill",
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, patience.Token);
            return await tls.ReadAsync(new byte[1], patience.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            return false;
        }
    }

    /// <summary>A self-signed certificate and key for <paramref name="name"/> (not of any authority) in <paramref name="folder"/>.</summary>
    private static void WriteSelfSigned(string folder, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        ClusterCertificates.Write(certificate, Path.Combine(folder, name + ".crt"), Path.Combine(folder, name + ".key"), overwrite: false);
    }
}
