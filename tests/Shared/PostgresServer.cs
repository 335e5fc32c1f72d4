using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;

namespace PeerDistill.Tests.Shared;

/// <summary>
/// A real PostgreSQL server for the whole test run (one per test process, started on first use):
/// Debian's PostgreSQL 15 binaries, a cluster initialised in a temporary directory, listening on a
/// free loopback port (its unix socket in that directory too), fsync off. initdb and pg_ctl refuse
/// root, so when the tests run as root the server runs as the <c>postgres</c> system user. It is
/// stopped by PID when the process exits; a server left by a killed run is stopped, and its
/// directory removed, when the next run starts one.
/// </summary>
public sealed partial class PostgresServer
{
    /// <summary>Where Debian installs PostgreSQL 15's server binaries.</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private const string DirectoryPrefix = "peerdistill-pg-";
    private const string SystemUser = "postgres";
    private const int SigQuit = 3;
    private const int SigKill = 9;

    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int _databases;

    private readonly string _root;
    private readonly int _pid;

    private PostgresServer(string root, int port, int pid)
    {
        _root = root;
        Port = port;
        _pid = pid;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
    }

    /// <summary>Why no server can be started here (null when one can): the reason a test reports when skipped.</summary>
    public static string? UnavailableReason { get; } = FindUnavailableReason();

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The run's server (started on first use).</summary>
    public static Task<PostgresServer> GetAsync() => UnavailableReason is null
        ? Shared.Value
        : throw new InvalidOperationException(UnavailableReason);

    /// <summary>A new, empty database on the run's server; returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string purpose)
    {
        var server = await GetAsync().ConfigureAwait(false);
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}_{new string([.. purpose.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30)])}";
        await using (var connection = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        return server.ConnectionString(name);
    }

    /// <summary>The connection string of <paramref name="database"/> on this server (user postgres, trust authentication on loopback).</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SystemUser,
        Database = database,
        Pooling = true,
        Timeout = 30,
        CommandTimeout = 60,
    }.ConnectionString;

    private static string? FindUnavailableReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the PostgreSQL test server needs Linux (Debian's postgresql-15 binaries)";
        }

        foreach (var tool in new[] { "initdb", "pg_ctl", "postgres" })
        {
            if (!File.Exists(Path.Combine(BinDirectory, tool)))
            {
                return $"PostgreSQL 15 not found ({Path.Combine(BinDirectory, tool)} is missing; apt-get install postgresql-15)";
            }
        }

        if (IsRoot() && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser"))
        {
            return "running as root, and runuser (util-linux) is missing to start PostgreSQL as the postgres user";
        }

        return null;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        RemoveLeftovers();
        var root = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        var data = Path.Combine(root, "data");
        if (IsRoot())
        {
            await RunAsync("chown", ["-R", $"{SystemUser}:{SystemUser}", root]).ConfigureAwait(false);
        }

        await RunAsync(Path.Combine(BinDirectory, "initdb"), ["-D", data, "-U", SystemUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], asServer: true).ConfigureAwait(false);
        var port = FreePort();
        var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        await RunAsync(Path.Combine(BinDirectory, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start"], asServer: true).ConfigureAwait(false);
        var pid = int.Parse(File.ReadLines(Path.Combine(data, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        return new PostgresServer(root, port, pid);
    }

    /// <summary>Stops servers of earlier runs whose test process is gone, and removes their directories.</summary>
    private static void RemoveLeftovers()
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var name = Path.GetFileName(directory)[DirectoryPrefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash < 1 || !int.TryParse(name.AsSpan(0, dash), out var owner) || IsAlive(owner))
            {
                continue;
            }

            var pidFile = Path.Combine(directory, "data", "postmaster.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var postmaster) && IsAlive(postmaster))
            {
                _ = Kill(postmaster, SigKill);
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private void Stop()
    {
        // SIGQUIT is PostgreSQL's immediate shutdown (no checkpoint): the data is thrown away anyway,
        // and the process exit that runs this does not wait long.
        if (_pid > 0 && Kill(_pid, SigQuit) == 0)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (IsAlive(_pid) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            if (IsAlive(_pid))
            {
                _ = Kill(_pid, SigKill);
            }
        }

        // The server's last children may still be removing files: try a few times (a directory left
        // here is removed by the next run).
        for (var attempt = 0; attempt < 5 && Directory.Exists(_root); attempt++)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asServer = false)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asServer && IsRoot())
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", SystemUser, "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = file;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error.ConfigureAwait(false)}{await output.ConfigureAwait(false)}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsRoot() => OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    private static bool IsAlive(int pid) => pid > 0 && Kill(pid, 0) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
