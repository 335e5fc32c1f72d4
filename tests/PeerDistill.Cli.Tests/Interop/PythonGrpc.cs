using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PeerDistill.Cli.Tests.Interop;

/// <summary>
/// Debian's python3 with python3-grpcio and python3-grpc-tools: an independent gRPC implementation
/// speaking the project's contract (tests/PeerDistill.Cli.Tests/interop: contract_client.py,
/// exchange_server.py), with stubs generated at test time from protos/peerdistill/v1.
/// </summary>
internal static partial class PythonGrpc
{
    /// <summary>Debian's interpreter; grpcio is installed for it, not for other pythons on PATH.</summary>
    public const string Interpreter = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(Probe);
    private static readonly Lazy<string> Root = new(FindRepoRoot);
    private static readonly Lazy<string> Stubs = new(GenerateStubs);

    /// <summary>Null when python3-grpcio and grpc_tools can be used, else why not.</summary>
    public static string? WhyUnavailable => Missing.Value;

    /// <summary>The repository root (the folder with PeerDistill.sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The folder of contract_client.py and exchange_server.py.</summary>
    public static string InteropDirectory => Path.Combine(RepoRoot, "tests", "PeerDistill.Cli.Tests", "interop");

    /// <summary>The python stubs of exchange.proto and cohort.proto, generated once per test run.</summary>
    public static string StubsDirectory => Stubs.Value;

    /// <summary>Starts exchange_server.py and waits for its <c>PORT n</c> line.</summary>
    public static async Task<PythonInteropServer> StartServerAsync(TimeSpan? startTimeout = null, params string[] extraArgs)
    {
        var info = StartInfo(Path.Combine(InteropDirectory, "exchange_server.py"), ["--stubs", StubsDirectory, .. extraArgs]);
        info.RedirectStandardInput = true;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{Interpreter} did not start");
        var server = new PythonInteropServer(process);
        try
        {
            await server.WaitForPortAsync(startTimeout ?? TimeSpan.FromSeconds(30));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>contract_client.py --case <paramref name="caseName"/></c> against <paramref name="target"/> (host:port).</summary>
    public static async Task<InteropClientResult> RunClientAsync(string target, string caseName, TimeSpan? timeout = null, params string[] extraArgs)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var info = StartInfo(Path.Combine(InteropDirectory, "contract_client.py"), ["--stubs", StubsDirectory, "--target", target, "--case", caseName, .. extraArgs]);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{Interpreter} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var timedOut = false;
        using (var cts = new CancellationTokenSource(limit))
        {
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                KillQuietly(process);
                await process.WaitForExitAsync();
            }
        }

        var output = await stdout;
        var errors = await stderr;
        bool? ok = null;
        string? detail = null;
        foreach (var line in output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                if (root.TryGetProperty("case", out var name) && name.GetString() == caseName)
                {
                    ok = root.TryGetProperty("ok", out var okValue) && okValue.ValueKind is JsonValueKind.True or JsonValueKind.False ? okValue.GetBoolean() : null;
                    detail = root.TryGetProperty("detail", out var detailValue) ? detailValue.ToString() : null;
                }
            }
            catch (JsonException)
            {
                // Not a result line: kept in Stdout for the report.
            }
        }

        return new InteropClientResult(caseName, ok, detail, timedOut ? null : process.ExitCode, timedOut, limit, output, errors);
    }

    internal static ProcessStartInfo StartInfo(string script, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = InteropDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(script);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["PYTHONUNBUFFERED"] = "1";
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        // Loopback calls must never go through a proxy of the environment.
        foreach (var name in new[] { "http_proxy", "https_proxy", "grpc_proxy", "HTTP_PROXY", "HTTPS_PROXY", "GRPC_PROXY", "all_proxy", "ALL_PROXY" })
        {
            info.Environment.Remove(name);
        }

        return info;
    }

    internal static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private static string? Probe()
    {
        if (!File.Exists(Interpreter))
        {
            return $"{Interpreter} not found (apt-get install python3-grpcio python3-grpc-tools)";
        }

        try
        {
            var info = new ProcessStartInfo(Interpreter)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("import grpc, grpc_tools.protoc, google.protobuf");
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                KillQuietly(process);
                return $"{Interpreter} did not import grpc within 60 s";
            }

            return process.ExitCode == 0
                ? null
                : $"python3-grpcio / python3-grpc-tools are not installed for {Interpreter} (apt-get install python3-grpcio python3-grpc-tools): {stderr.Result.Trim().Split('\n').LastOrDefault()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot run {Interpreter}: {e.Message}";
        }
    }

    [GeneratedRegex(@"\boptional\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")]
    private static partial Regex Proto3Optional();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PeerDistill.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds PeerDistill.sln");
    }

    private static string GenerateStubs()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-pystubs-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        };

        // The contract's own files, copied: Debian's grpc_tools embeds protoc 3.5.1, which predates proto3
        // `optional`; each `optional T name = N;` becomes what protoc makes of it anyway, a one-field
        // `oneof _name { T name = N; }` (same wire format, same presence: HasField works).
        var protos = Path.Combine(dir, "protos");
        var source = Path.Combine(RepoRoot, "protos", "peerdistill", "v1");
        var target = Directory.CreateDirectory(Path.Combine(protos, "peerdistill", "v1")).FullName;
        foreach (var name in new[] { "exchange.proto", "cohort.proto" })
        {
            var text = File.ReadAllText(Path.Combine(source, name));
            File.WriteAllText(Path.Combine(target, name), Proto3Optional().Replace(text, "oneof _$2 { $1 $2 = $3; }"));
        }

        var info = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (var a in new[]
                 {
                     "-m", "grpc_tools.protoc", "-I", protos, "--python_out=" + dir, "--grpc_python_out=" + dir,
                     Path.Combine(target, "exchange.proto"),
                     Path.Combine(target, "cohort.proto"),
                 })
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{Interpreter} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            KillQuietly(process);
            throw new TimeoutException("grpc_tools.protoc did not finish in 2 minutes");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"grpc_tools.protoc exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        foreach (var expected in new[] { "peerdistill/v1/exchange_pb2_grpc.py", "peerdistill/v1/cohort_pb2_grpc.py" })
        {
            if (!File.Exists(Path.Combine(dir, expected)))
            {
                throw new InvalidOperationException($"grpc_tools.protoc did not write {expected} into {dir}: {stderr.Result}");
            }
        }

        return dir;
    }
}

/// <summary>The outcome of one contract_client.py case.</summary>
/// <param name="Case">The case run.</param>
/// <param name="Ok">The JSON line's <c>ok</c>; null when no JSON line for the case came.</param>
/// <param name="Detail">The JSON line's <c>detail</c>.</param>
/// <param name="ExitCode">The exit code; null when the client was killed on timeout.</param>
/// <param name="TimedOut">Whether the client ran past its time limit.</param>
/// <param name="Limit">The time limit.</param>
/// <param name="Stdout">Everything the client wrote on stdout.</param>
/// <param name="Stderr">Everything the client wrote on stderr.</param>
internal sealed record InteropClientResult(string Case, bool? Ok, string? Detail, int? ExitCode, bool TimedOut, TimeSpan Limit, string Stdout, string Stderr)
{
    /// <summary>Whether the case passed: ok true and exit code 0.</summary>
    public bool Passed => Ok == true && ExitCode == 0 && !TimedOut;

    /// <summary>Everything known about the run, for assertion messages.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("contract_client.py --case ").Append(Case).Append(": ");
        sb.Append(TimedOut ? $"killed after {Limit.TotalSeconds:0} s" : $"exit code {ExitCode}");
        sb.Append(", ok=").Append(Ok?.ToString() ?? "(no JSON line)");
        sb.Append("\ndetail: ").Append(Detail ?? "(none)");
        if (Ok is null)
        {
            sb.Append("\nstdout: ").Append(Stdout.Trim());
        }

        sb.Append("\nstderr: ").Append(string.IsNullOrWhiteSpace(Stderr) ? "(empty)" : Stderr.Trim());
        return sb.ToString();
    }
}

/// <summary>
/// A running exchange_server.py: stdin is a pipe kept open (the server stops when it closes), stdout
/// gives the <c>PORT n</c> line, stderr is collected for failure reports.
/// </summary>
internal sealed class PythonInteropServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private int _disposed;

    public PythonInteropServer(Process process)
    {
        _process = process;
        _stdoutPump = Task.Run(PumpStdoutAsync);
        _stderrPump = Task.Run(PumpStderrAsync);
    }

    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port => _port.Task.IsCompletedSuccessfully ? _port.Task.Result : throw new InvalidOperationException("the server has not reported its port");

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Target => $"127.0.0.1:{Port}";

    /// <summary><c>http://127.0.0.1:port</c>.</summary>
    public string Address => $"http://{Target}";

    /// <summary>Whether the server process is still running.</summary>
    public bool IsRunning
    {
        get
        {
            try
            {
                return !_process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>The lines the server wrote on stdout so far.</summary>
    public IReadOnlyList<string> StdoutLines()
    {
        lock (_stdout)
        {
            return _stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }

    /// <summary>What the server wrote on stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits for the <c>PORT n</c> line.</summary>
    public async Task WaitForPortAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var done = await Task.WhenAny(_port.Task, exited, Task.Delay(timeout));
        if (done == _port.Task && _port.Task.IsCompletedSuccessfully)
        {
            return;
        }

        if (done != exited && done != _port.Task)
        {
            throw new TimeoutException($"exchange_server.py reported no port within {timeout.TotalSeconds:0} s; stdout: {Stdout()}; stderr: {Stderr}");
        }

        // stdout closed or the process exited without a port line.
        await Task.WhenAny(exited, Task.Delay(5000));
        await Task.WhenAny(_stderrPump, Task.Delay(2000));
        var status = _process.HasExited ? $"exited {_process.ExitCode}" : "closed its stdout";
        throw new InvalidOperationException($"exchange_server.py {status} before reporting its port; stdout: {Stdout()}; stderr: {Stderr}");
    }

    /// <summary>Stops the server: closes its stdin, then kills it if it is still running after a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                PythonGrpc.KillQuietly(_process);
                await _process.WaitForExitAsync();
            }

            await Task.WhenAny(Task.WhenAll(_stdoutPump, _stderrPump), Task.Delay(2000));
        }
        finally
        {
            PythonGrpc.KillQuietly(_process);
            _process.Dispose();
        }
    }

    private string Stdout()
    {
        lock (_stdout)
        {
            return _stdout.ToString().Trim();
        }
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_stdout)
                {
                    _stdout.AppendLine(line);
                }

                if (line.StartsWith("PORT ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5).Trim(), out var port) && port > 0)
                {
                    _port.TrySetResult(port);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            _port.TrySetException(new InvalidOperationException("exchange_server.py closed its stdout without reporting a port"));
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            var buffer = new char[4096];
            int n;
            while ((n = await _process.StandardError.ReadAsync(buffer)) > 0)
            {
                lock (_stderr)
                {
                    // Keep the report bounded (GRPC_TRACE can be verbose).
                    if (_stderr.Length < 1_000_000)
                    {
                        _stderr.Append(buffer, 0, n);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
