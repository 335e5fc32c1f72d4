using PeerDistill.Protocol.V1;
using PeerDistill.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// A secret given to the cluster (the database password in its connection string) or made by it (API
/// tokens) appears in no output: not in any process's output while a cohort trains and after (the
/// first admin token: in the one line of its first start only), not in the run's files (the admin
/// token: in its own file only), not in any API answer, and not in the error of a coordinator whose
/// database cannot be reached.
/// </summary>
public sealed class SecretsTests(ITestOutputHelper output)
{
    [PostgresFact]
    public async Task TheDatabasePassword_AppearsInNoOutput_FilesOrAnswers()
    {
        using var dir = new TempDirectory();
        var admin = string.Empty;
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

            var made = CliProcess.RunIn(dir.Path, "tokens", "create", "ci", "--role", "operator", "--coordinator", cluster.Url);
            Assert.True(made.ExitCode == 0, made.Stderr);
            var token = made.Stdout.Trim();
            var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait", "--token", token);
            Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
            Assert.DoesNotContain(secret, submit.Stdout + submit.Stderr, StringComparison.Ordinal);
            var run = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Completed, TimeSpan.FromMinutes(2));

            using var http = cluster.Http();
            foreach (var path in new[] { "api/v1/tokens", "api/v1/audit", "api/v1/runs", $"api/v1/runs/pair/{run.Run}", $"api/v1/runs/pair/{run.Run}/metrics", $"api/v1/runs/pair/{run.Run}/checkpoints", "api/v1/workers", "api/v1/health", "api/v1/version", "openapi/v1.json", "api/v1/runs/nope/x" })
            {
                using var answer = await http.GetAsync(path);
                var text = await answer.Content.ReadAsStringAsync();
                Assert.All(new[] { secret, token, cluster.Token }, s => Assert.DoesNotContain(s, text, StringComparison.Ordinal));
            }

            foreach (var command in new[] { new[] { "cohorts", "get", "pair", "--json" }, ["workers", "--json"], ["cohorts", "list"], ["tokens", "list", "--json"], ["audit", "--json"] })
            {
                var cli = CliProcess.RunIn(dir.Path, [.. command, "--coordinator", cluster.Url]);
                Assert.All(new[] { secret, token, cluster.Token }, s => Assert.DoesNotContain(s, cli.Stdout + cli.Stderr, StringComparison.Ordinal));
            }

            // A refused token is not repeated back either.
            var refused = CliProcess.RunIn(dir.Path, "cohorts", "list", "--coordinator", cluster.Url, "--token", token + "x");
            Assert.Equal(4, refused.ExitCode);
            Assert.DoesNotContain(token, refused.Stdout + refused.Stderr, StringComparison.Ordinal);

            await cluster.RestartCoordinatorAsync(); // a start on a database that holds state
            await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Completed, TimeSpan.FromMinutes(1));
            Assert.Empty(cluster.AnyLines(secret));
            Assert.Empty(cluster.AnyLines(token));
            Assert.Single(cluster.AnyLines(cluster.Token));
            admin = cluster.Token;
        }

        var tokenFile = Path.Combine(dir.Path, "data", "admin.token");
        foreach (var file in Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".ckpt", StringComparison.Ordinal)))
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.True(file == tokenFile || !text.Contains(admin, StringComparison.Ordinal), $"{file} holds the admin token");
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
