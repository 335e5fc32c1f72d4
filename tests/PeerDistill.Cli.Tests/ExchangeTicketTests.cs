using Grpc.Core;
using PeerDistill.Cli.Tests.Interop;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Exchange tickets on real processes: while a cohort trains on two workers, an outsider (a python
/// grpcio script, and this test's own client) opens Exchange streams to the worker of a peer with no
/// ticket, a malformed, forged, altered or expired one, another cohort's, an older generation's, and
/// a valid one whose frame claims another sender or generation, then thousands of generated malformed
/// tickets: each refused with its status before any frame is taken, counted and logged, no secret in
/// any answer or line, and the cohort's per-step losses those of the embedded run of the same spec.
/// </summary>
public sealed class ExchangeTicketTests(ITestOutputHelper output)
{
    /// <summary>Generated malformed tickets sent to the training worker.</summary>
    private const int Generated = 2000;

    [PythonGrpcFact]
    public async Task StreamsWithoutAValidTicket_AreEachRefusedWithTheirStatus_WhileTheCohortTrainsAsIfUndisturbed()
    {
        using var dir = new TempDirectory("peerdistill-tickets-");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        foreach (var id in new[] { "w1", "w2" })
        {
            cluster.StartWorker(id);
            await cluster.WaitForLineAsync(id, "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        // Two workers of one slot each: the peers' own logits cross the network on ticketed streams.
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 30", StringComparison.Ordinal));
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "pair" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.Count == 2 && s.Peers.All(p => p.State == PeerState.Active && p.Step >= 3), TimeSpan.FromMinutes(2));
        var (receiver, teacher) = (status.Peers.Single(p => p.Peer == "a"), status.Peers.Single(p => p.Peer == "b"));
        Assert.NotEqual(receiver.WorkerId, teacher.WorkerId);
        var worker = await cluster.WorkerAddressAsync(receiver.WorkerId);

        // The operator's copy of the cluster's key, for the tickets an attacker may hold (another cohort's, an older generation's).
        var key = await ClusterTickets.ReadKeyAsync(Path.Combine(dir.Path, "data"), TimeSpan.FromSeconds(30));
        var keyFile = Path.Combine(dir.Path, "ticket.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(key));
        var mark = cluster.LineCount;
        var attacks = await PythonGrpc.RunClientAsync(new Uri(worker).Authority, "exchange_tickets", TimeSpan.FromSeconds(60),
            "--ticket-key-file", keyFile, "--cohort", "pair", "--run", status.Run, "--receiver", receiver.Peer, "--teacher", teacher.Peer,
            "--generation", teacher.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "32", "--classes", "10");
        output.WriteLine(attacks.Detail ?? string.Empty);
        Assert.True(attacks.Passed, attacks.Describe());

        // Each refusal was logged by the worker, with its reason, once per stream.
        foreach (var reason in new[] { TicketRefusal.Missing, TicketRefusal.Malformed, TicketRefusal.BadSignature, TicketRefusal.Expired, TicketRefusal.OtherCohort, TicketRefusal.OlderGeneration, TicketRefusal.FrameMismatch })
        {
            await WaitForAsync(() => cluster.LinesSince(mark, receiver.WorkerId).Any(l => l.Contains($"({reason})", StringComparison.Ordinal)), $"worker {receiver.WorkerId} logged no '{reason}' refusal");
        }

        Assert.Equal(2, cluster.LinesSince(mark, receiver.WorkerId).Count(l => l.Contains("(BadSignature)", StringComparison.Ordinal)));

        // Thousands of generated malformed tickets: each UNAUTHENTICATED, never UNKNOWN or INTERNAL.
        var valid = new TicketCodec(key).Issue("pair", status.Run, teacher.Peer, teacher.Generation);
        using var channel = GrpcChannels.ForAddress(worker);
        var client = new PeerExchange.PeerExchangeClient(channel);
        var codes = new Dictionary<StatusCode, int>();
        foreach (var bad in GeneratedTickets.Malformed(valid, Generated, seed: 21))
        {
            using var call = client.Exchange(new Metadata { { ExchangeTicket.Header, bad } }, DateTime.UtcNow.AddSeconds(30));
            var e = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
            codes[e.StatusCode] = codes.GetValueOrDefault(e.StatusCode) + 1;
            Assert.True(e.StatusCode == StatusCode.Unauthenticated, $"a malformed ticket of {bad.Length} characters: {e.StatusCode}: {e.Status.Detail}");
        }

        Assert.Equal(Generated, codes.GetValueOrDefault(StatusCode.Unauthenticated));

        // All of it happened while the cohort trained (and the logs were throttled, not flooded).
        using var coordinator = cluster.Coordinator();
        var during = await new CohortService.CohortServiceClient(coordinator).GetCohortAsync(request);
        Assert.Equal(CohortState.Running, during.State);
        Assert.All(during.Peers, p => Assert.True(p.Step < p.TotalSteps, $"'{p.Peer}' finished before the attacks were over"));
        Assert.True(cluster.LinesSince(mark, receiver.WorkerId).Count(l => l.Contains("refused a /peerdistill.v1.PeerExchange/Exchange call", StringComparison.Ordinal)) < Generated / 4, "every refusal of the flood was logged");
        Assert.False(cluster.Worker(receiver.WorkerId).HasExited);

        var done = await cluster.WaitForAsync(request, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(5));
        Assert.Equal(CohortState.Completed, done.State);

        // No secret anywhere: not the key, not a genuine ticket, in any line or the run's summary.
        var secrets = new[] { Convert.ToBase64String(key), Convert.ToHexString(key), Convert.ToHexStringLower(key), valid[..40] };
        Assert.DoesNotContain(cluster.AnyLines(string.Empty), l => secrets.Any(s => l.Contains(s, StringComparison.Ordinal)));
        var runDirectory = Path.Combine(cluster.Runs, "pair", done.Run);
        foreach (var file in Directory.EnumerateFiles(runDirectory, "*.json*", SearchOption.AllDirectories))
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.False(secrets.Any(s => text.Contains(s, StringComparison.Ordinal)), $"{file} holds a secret");
        }

        // Step for step the losses of the embedded run.
        MetricsFiles.AssertEqualToEmbedded(dir.Path, spec, runDirectory, "distributed under attack");
    }

    private static async Task WaitForAsync(Func<bool> condition, string failure)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), failure);
            await Task.Delay(50);
        }
    }
}
