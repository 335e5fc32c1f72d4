using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// TLS on every endpoint, on real processes: with certificates from <c>peerdistill certs</c> the
/// coordinator's two API ports serve gRPC and REST over TLS (and refuse cleartext), the workers'
/// exchange ports require a certificate of the cluster's authority, the cohort trains across two
/// workers over mutual TLS step for step as the embedded run, and certificate files replaced on disk
/// reach new connections without a restart.
/// </summary>
public sealed class TlsEndpointsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WithCertificates_EveryEndpointServesTls_TheExchangeIsMutual_TheCohortTrainsAsIfAlone()
    {
        using var dir = new TempDirectory();
        foreach (var args in new[] { new[] { "certs", "init" }, ["certs", "issue", "coordinator"], ["certs", "issue", "w1"], ["certs", "issue", "w2"], ["certs", "issue", "tester"], ["certs", "init", "--dir", "other"], ["certs", "issue", "w9", "--dir", "other"] })
        {
            var made = CliProcess.RunIn(dir.Path, args);
            Assert.True(made.ExitCode == 0, made.Stderr);
        }

        string Cert(string folder, string name, string ext) => Path.Combine(dir.Path, folder, name + ext);
        var ca = Cert("certs", "ca", ".crt");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: CoordinatorTls(dir.Path), authority: ca);
        foreach (var w in new[] { "w1", "w2" })
        {
            cluster.StartWorker(w, 1, null, "--tls-cert", Cert("certs", w, ".crt"), "--tls-key", Cert("certs", w, ".key"), "--tls-ca", ca);
        }

        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        Assert.StartsWith("https://", cluster.Url, StringComparison.Ordinal);
        Assert.StartsWith("https://", cluster.HttpUrl, StringComparison.Ordinal);
        var exchange = await cluster.WorkerAddressAsync("w1");
        Assert.StartsWith("https://", exchange, StringComparison.Ordinal);

        // The API: gRPC and REST over TLS on either port, trusting the cluster's authority; no client certificate.
        foreach (var port in new[] { cluster.Url, cluster.HttpUrl })
        {
            using (var channel = cluster.CoordinatorAt(port))
            {
                var listed = await new CohortService.CohortServiceClient(channel).ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Empty(listed.Cohorts);
            }

            using var http = cluster.HttpAt(port);
            using var workers = JsonDocument.Parse(await http.GetStringAsync("api/v1/workers"));
            Assert.Equal(["w1", "w2"], workers.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("worker").GetString()).Order());
        }

        // Cleartext on either API port is refused; so is a client that does not trust the cluster's authority.
        foreach (var port in new[] { cluster.Url, cluster.HttpUrl })
        {
            var cleartext = "http://" + new Uri(port).Authority;
            using var plain = new HttpClient();
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetStringAsync(cleartext + "/api/v1/workers"));
            using var h2c = GrpcChannels.ForAddress(cleartext);
            var refused = await Assert.ThrowsAsync<RpcException>(() => new CohortService.CohortServiceClient(h2c).ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            using var systemTrust = new HttpClient();
            var untrusted = await Assert.ThrowsAsync<HttpRequestException>(() => systemTrust.GetStringAsync(port + "/api/v1/workers"));
            Assert.IsType<AuthenticationException>(untrusted.InnerException);
        }

        // The exchange port: a node of the cluster is served; no certificate, or another authority's, is refused (and logged).
        var tester = Credentials(Cert("certs", "tester", ".crt"), Cert("certs", "tester", ".key"), ca);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await HealthAsync(exchange, tester.ClientOptions()));
        var anyServer = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true };
        Assert.Equal(StatusCode.Unavailable, (await Assert.ThrowsAsync<RpcException>(() => HealthAsync(exchange, anyServer))).StatusCode);
        using var foreign = X509CertificateLoader.LoadPkcs12(ClusterCertificates.Load(Cert("other", "w9", ".crt"), Cert("other", "w9", ".key")).Export(X509ContentType.Pkcs12), null);
        var stranger = new SslClientAuthenticationOptions { ClientCertificates = [foreign], RemoteCertificateValidationCallback = (_, _, _, _) => true };
        Assert.Equal(StatusCode.Unavailable, (await Assert.ThrowsAsync<RpcException>(() => HealthAsync(exchange, stranger))).StatusCode);
        await cluster.WaitForLineAsync("w1", "refused a cluster connection: certificate 'CN=w9, O=PeerDistill' is not valid from the cluster's authority", 1, TimeSpan.FromSeconds(30));

        // The cohort: one peer on each worker, its logits over the mutual TLS exchange; as the embedded run.
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 2", StringComparison.Ordinal));
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--ca", ca);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var done = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(4));
        Assert.Equal(CohortState.Completed, done.State);
        Assert.Equal(["w1", "w2"], done.Peers.Select(p => p.WorkerId).Order());

        MetricsFiles.AssertEqualToEmbedded(dir.Path, spec, Path.Combine(cluster.Runs, "pair", done.Run), "over the TLS exchange");

        // The CLI trusts the authority from the environment too; without it, the system's store does not know it.
        var status = CliProcess.RunIn(dir.Path, new Dictionary<string, string> { ["PEERDISTILL_CA"] = ca }, "status", "--coordinator", cluster.Url);
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("pair", status.Stdout, StringComparison.Ordinal);
        var untrusting = CliProcess.RunIn(dir.Path, "status", "--coordinator", cluster.Url);
        Assert.Equal(1, untrusting.ExitCode);
        var missing = CliProcess.RunIn(dir.Path, "cohorts", "list", "--coordinator", cluster.Url, "--ca", Cert("certs", "none", ".crt"));
        Assert.Equal((2, $"cohorts list: --ca: '{Cert("certs", "none", ".crt")}' does not exist"), (missing.ExitCode, missing.Stderr.Trim()));
    }

    [Fact]
    public async Task ReplacedCertificateFiles_ReachNewConnections_WithoutARestart()
    {
        using var dir = new TempDirectory();
        foreach (var args in new[] { new[] { "certs", "init" }, ["certs", "issue", "coordinator"], ["certs", "issue", "w1"] })
        {
            var made = CliProcess.RunIn(dir.Path, args);
            Assert.True(made.ExitCode == 0, made.Stderr);
        }

        var certs = Path.Combine(dir.Path, "certs");
        var ca = Path.Combine(certs, "ca.crt");
        var node = Credentials(Path.Combine(certs, "w1.crt"), Path.Combine(certs, "w1.key"), ca);
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: CoordinatorTls(dir.Path), authority: ca);
        string Serial() => ClusterCertificates.LoadCertificate(Path.Combine(certs, "coordinator.crt")).SerialNumber;
        var first = Serial();
        var silo = "https://" + cluster.ClusterEndpoint;
        foreach (var endpoint in new[] { cluster.Url, cluster.HttpUrl })
        {
            Assert.Equal(first, await ServedSerialAsync(endpoint, ClusterCertificates.TrustServersOf(ClusterCertificates.LoadCertificate(ca))));
        }

        Assert.Equal(first, await ServedSerialAsync(silo, node.ClientOptions()));

        // The files are replaced while the coordinator runs (as a rotated secret is): a new certificate, another serial.
        var reissued = CliProcess.RunIn(dir.Path, "certs", "issue", "coordinator", "--force");
        Assert.True(reissued.ExitCode == 0, reissued.Stderr);
        var second = Serial();
        Assert.NotEqual(first, second);

        foreach (var endpoint in new[] { cluster.Url, cluster.HttpUrl })
        {
            Assert.Equal(second, await ServedSerialUntilAsync(endpoint, ClusterCertificates.TrustServersOf(ClusterCertificates.LoadCertificate(ca)), second, TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(second, await ServedSerialUntilAsync(silo, node.ClientOptions(), second, TimeSpan.FromSeconds(30)));
        // The console log is written behind the handshakes: wait for the line rather than count it at once.
        await cluster.WaitForLineAsync("coordinator", $"TLS certificate reloaded from '{Path.Combine(certs, "coordinator.crt")}': CN=coordinator, O=PeerDistill, serial {second}", 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, cluster.Printed("coordinator", "TLS certificate reloaded from")); // one rotation, one reload
        Assert.False(cluster.CoordinatorProcess.HasExited);
        using var channel = cluster.Coordinator();
        Assert.Empty((await new CohortService.CohortServiceClient(channel).ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Cohorts);
    }

    [Interop.PythonGrpcFact]
    public async Task AnotherTlsStack_ReachesTheApi_AndTheExchangeOnlyWithTheClustersCertificate()
    {
        using var dir = new TempDirectory();
        foreach (var args in new[] { new[] { "certs", "init" }, ["certs", "issue", "coordinator"], ["certs", "issue", "w1"], ["certs", "issue", "tester"], ["certs", "init", "--dir", "other"], ["certs", "issue", "w9", "--dir", "other"] })
        {
            var made = CliProcess.RunIn(dir.Path, args);
            Assert.True(made.ExitCode == 0, made.Stderr);
        }

        string Cert(string folder, string name, string ext) => Path.Combine(dir.Path, folder, name + ext);
        var ca = Cert("certs", "ca", ".crt");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: CoordinatorTls(dir.Path), authority: ca);
        cluster.StartWorker("w1", 1, null, "--tls-cert", Cert("certs", "w1", ".crt"), "--tls-key", Cert("certs", "w1", ".key"), "--tls-ca", ca);
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        var exchange = new Uri(await cluster.WorkerAddressAsync("w1")).Authority;
        var limit = TimeSpan.FromSeconds(90);

        // grpcio's TLS: the API on both ports trusting the cluster's authority, no client certificate; not trusting it, refused.
        foreach (var port in new[] { cluster.Url, cluster.HttpUrl })
        {
            var api = await Interop.PythonGrpc.RunClientAsync(new Uri(port).Authority, "health", limit, "--ca", ca);
            Assert.True(api.Passed, api.Describe());
            var untrusted = await Interop.PythonGrpc.RunClientAsync(new Uri(port).Authority, "refused", limit, "--ca", Cert("other", "ca", ".crt"));
            Assert.True(untrusted.Passed, untrusted.Describe());
        }

        // The exchange: a certificate of the cluster is served; none, or another authority's, refused, and the worker says why.
        var member = await Interop.PythonGrpc.RunClientAsync(exchange, "health", limit, "--ca", ca, "--cert", Cert("certs", "tester", ".crt"), "--key", Cert("certs", "tester", ".key"));
        Assert.True(member.Passed, member.Describe());
        var anonymous = await Interop.PythonGrpc.RunClientAsync(exchange, "refused", limit, "--ca", ca);
        Assert.True(anonymous.Passed, anonymous.Describe());
        await cluster.WaitForLineAsync("w1", "refused a cluster connection: no certificate was presented", 1, TimeSpan.FromSeconds(30));
        var stranger = await Interop.PythonGrpc.RunClientAsync(exchange, "refused", limit, "--ca", ca, "--cert", Cert("other", "w9", ".crt"), "--key", Cert("other", "w9", ".key"));
        Assert.True(stranger.Passed, stranger.Describe());
        await cluster.WaitForLineAsync("w1", "refused a cluster connection: certificate 'CN=w9, O=PeerDistill' is not valid from the cluster's authority", 1, TimeSpan.FromSeconds(30));
    }

    /// <summary>The coordinator's TLS settings for certificates under <c>certs/</c> of <paramref name="dir"/>, as environment variables.</summary>
    private static Dictionary<string, string> CoordinatorTls(string dir) => new()
    {
        ["PEERDISTILL_COORDINATOR__TLS__CERTIFICATE"] = Path.Combine(dir, "certs", "coordinator.crt"),
        ["PEERDISTILL_COORDINATOR__TLS__KEY"] = Path.Combine(dir, "certs", "coordinator.key"),
        ["PEERDISTILL_COORDINATOR__TLS__AUTHORITY"] = Path.Combine(dir, "certs", "ca.crt"),
    };

    /// <summary>The test's own node credentials (a certificate of the cluster's authority), as a worker holds them.</summary>
    private static ClusterCredentials Credentials(string certificate, string key, string authority) =>
        new(new ClusterTlsOptions { Certificate = certificate, Key = key, Authority = authority }, new TlsRefusals(NullLogger<TlsRefusals>.Instance, TimeProvider.System), TimeProvider.System, NullLogger<ClusterCredentials>.Instance);

    /// <summary>The gRPC health of the server at <paramref name="address"/>, reached with <paramref name="tls"/>.</summary>
    private static async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(string address, SslClientAuthenticationOptions tls)
    {
        using var channel = GrpcChannels.ForAddress(address, tls);
        return (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Status;
    }

    /// <summary>The serial number of the certificate a new TLS connection to <paramref name="address"/> is served (the handshake alone).</summary>
    private static async Task<string> ServedSerialAsync(string address, SslClientAuthenticationOptions tls)
    {
        var at = new Uri(address);
        using var client = new TcpClient();
        await client.ConnectAsync(at.Host, at.Port);
        await using var stream = new SslStream(client.GetStream(), false);
        tls.TargetHost = at.Host;
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await stream.AuthenticateAsClientAsync(tls, patience.Token);
        return stream.RemoteCertificate!.GetSerialNumberString();
    }

    /// <summary>New connections to <paramref name="address"/> until one is served <paramref name="serial"/>, at most <paramref name="limit"/>: the last serial seen.</summary>
    private static async Task<string> ServedSerialUntilAsync(string address, SslClientAuthenticationOptions tls, string serial, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seen = await ServedSerialAsync(address, tls);
        while (seen != serial && clock.Elapsed < limit)
        {
            await Task.Delay(100);
            seen = await ServedSerialAsync(address, tls);
        }

        return seen;
    }
}
