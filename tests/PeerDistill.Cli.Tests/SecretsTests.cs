using PeerDistill.Protocol.V1;
using PeerDistill.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// A secret given to the cluster (the database password in its connection string) appears in no
/// output: not in any process's output while a cohort trains and after, not in the run's files, not
/// in any API answer, and not in the error of a coordinator whose database cannot be reached.
/// </summary>
public sealed class SecretsTests(ITestOutputHelper output)
{
    [PostgresFact]
    public async Task TheDatabasePassword_AppearsInNoOutput_FilesOrAnswers()
    {
        using var dir = new TempDirectory();
        var secret = "Pw-" + Guid.NewGuid().ToString("N");
        var database = await PostgresServer.CreateDatabaseAsync("secrets") + ";Password=" + secret; // trust authentication: accepted, unused
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 2", StringComparison.Ordinal));
        await using (var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output, database))
        {
            foreach (var w in new[] { "w1", "w2" })
            {
                await cluster.WaitForLineAsync(w, "joined the cluster", 1, TimeSpan.FromSeconds(60));
            }

            var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
            Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
            Assert.DoesNotContain(secret, submit.Stdout + submit.Stderr, StringComparison.Ordinal);
            var run = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Completed, TimeSpan.FromMinutes(2));

            using var http = cluster.Http();
            foreach (var path in new[] { "api/v1/runs", $"api/v1/runs/pair/{run.Run}", $"api/v1/runs/pair/{run.Run}/metrics", $"api/v1/runs/pair/{run.Run}/checkpoints", "api/v1/workers", "api/v1/health", "api/v1/version", "openapi/v1.json", "api/v1/runs/nope/x" })
            {
                using var answer = await http.GetAsync(path);
                Assert.DoesNotContain(secret, await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            foreach (var command in new[] { new[] { "cohorts", "get", "pair", "--json" }, ["workers", "--json"], ["cohorts", "list"] })
            {
                var cli = CliProcess.RunIn(dir.Path, [.. command, "--coordinator", cluster.Url]);
                Assert.DoesNotContain(secret, cli.Stdout + cli.Stderr, StringComparison.Ordinal);
            }

            await cluster.RestartCoordinatorAsync(); // a start on a database that holds state
            await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Completed, TimeSpan.FromMinutes(1));
            Assert.Empty(cluster.AnyLines(secret));
        }

        foreach (var file in Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".ckpt", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        }

        // A coordinator that cannot reach its database says so without the password.
        var unreachable = "Host=127.0.0.1;Port=1;Database=none;Username=nobody;Password=" + secret + ";Timeout=3";
        var failed = CliProcess.RunIn(dir.Path, "coordinator", "--port", "0", "--http-port", "0", "--cluster-port", "0", "--database-provider", "postgres", "--database", unreachable);
        Assert.Equal(1, failed.ExitCode);
        Assert.DoesNotContain(secret, failed.Stdout + failed.Stderr, StringComparison.Ordinal);
        Assert.Contains("coordinator: the PostgreSQL database 'none' at 127.0.0.1:1 (user 'nobody') cannot be used: Failed to connect to 127.0.0.1:1", failed.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", failed.Stderr, StringComparison.Ordinal);
        output.WriteLine(failed.Stderr.Length > 600 ? failed.Stderr[..600] : failed.Stderr);
    }
}
