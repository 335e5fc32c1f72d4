using System.CommandLine;
using System.Net;
using PeerDistill.Api.Access;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Cli;

/// <summary>
/// Where the CLI finds its API token for a coordinator, first found wins: the <c>--token</c> flag,
/// the <see cref="EnvironmentVariable"/> variable, the line of the per-user credentials file
/// (<see cref="FilePath"/>) for that coordinator, for a coordinator on this machine (a loopback
/// address) the admin token it made on its first start (when this user may read it), and last the
/// file's <c>*</c> line. The credentials file holds one <c>ADDRESS TOKEN</c> per line
/// (<c>peerdistill login</c> writes it, readable by its owner only); <c>#</c> starts a comment.
/// </summary>
internal static class Credentials
{
    /// <summary>The environment variable that holds a token.</summary>
    public const string EnvironmentVariable = "PEERDISTILL_TOKEN";

    /// <summary>The credentials file: <c>$XDG_CONFIG_HOME/peerdistill/credentials</c>, or <c>~/.config/peerdistill/credentials</c>.</summary>
    public static string FilePath
    {
        get
        {
            var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            if (string.IsNullOrEmpty(config))
            {
                config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            }

            return Path.Combine(config, "peerdistill", "credentials");
        }
    }

    /// <summary>The token to present to <paramref name="coordinator"/>, or null when none is found (the call then goes without, and is refused with the reason).</summary>
    public static string? Resolve(string coordinator, string? flag)
    {
        if (!string.IsNullOrWhiteSpace(flag))
        {
            return flag.Trim();
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } variable)
        {
            return variable.Trim();
        }

        var address = Key(coordinator);
        var lines = ReadFile();
        if (lines.FirstOrDefault(l => l.Address == address).Token is { } saved)
        {
            return saved;
        }

        var uri = GrpcChannels.Parse(coordinator);
        if (IsLoopback(uri.Host) && LocalCoordinators.FindToken(uri.Port) is { } local)
        {
            return local;
        }

        return lines.FirstOrDefault(l => l.Address == "*").Token;
    }

    /// <summary>Saves <paramref name="token"/> for <paramref name="coordinator"/> (or <c>*</c>) in the credentials file, replacing that coordinator's line.</summary>
    public static void Save(string coordinator, string token)
    {
        var address = coordinator == "*" ? "*" : Key(coordinator);
        var lines = ReadFile().Where(l => l.Address != address).Select(l => $"{l.Address} {l.Token}").ToList();
        lines.Add($"{address} {token}");
        var file = FilePath;
        var directory = Path.GetDirectoryName(file)!;
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, owner | UnixFileMode.UserExecute);
        }

        var temporary = file + ".tmp-" + Environment.ProcessId;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = owner;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.WriteLine("# peerdistill credentials: one \"ADDRESS TOKEN\" per line (\"*\" for any coordinator); written by `peerdistill login`");
            foreach (var line in lines)
            {
                writer.WriteLine(line);
            }
        }

        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>A coordinator's address as the credentials file keys it: <c>scheme://host:port</c>, lower case.</summary>
    public static string Key(string coordinator)
    {
        var uri = GrpcChannels.Parse(coordinator);
        return $"{uri.Scheme}://{uri.Host}:{uri.Port}".ToLowerInvariant();
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static List<(string Address, string Token)> ReadFile()
    {
        var lines = new List<(string, string)>();
        try
        {
            if (!File.Exists(FilePath))
            {
                return lines;
            }

            foreach (var raw in File.ReadLines(FilePath))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var parts = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length == 2)
                {
                    lines.Add((parts[0] == "*" ? "*" : SafeKey(parts[0]), parts[1]));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: the credentials file {FilePath} cannot be read ({e.Message}); going on without it");
        }

        return lines;
    }

    private static string SafeKey(string address)
    {
        try
        {
            return Key(address);
        }
        catch (ArgumentException)
        {
            return address;
        }
    }
}

/// <summary>
/// The options every command that calls a coordinator takes: its address, the token to present, and
/// for an <c>https://</c> address the authority its certificate must chain to (<c>--ca</c>, else
/// <see cref="AuthorityVariable"/>, else the system's trust store; the certificate must also name the
/// host dialled).
/// </summary>
internal sealed class CoordinatorTarget
{
    /// <summary>The environment variable naming the authority when <c>--ca</c> is not given.</summary>
    public const string AuthorityVariable = "PEERDISTILL_CA";

    public Option<string> Address { get; } = new("--coordinator") { Description = "The coordinator's gRPC address, e.g. http://127.0.0.1:7070 (https://... when it serves TLS: see --ca).", Required = true };

    public Option<string> Token { get; } = new("--token") { Description = $"The API token to present (default: ${Credentials.EnvironmentVariable}, then the credentials file written by `peerdistill login`, then, for a coordinator on this machine, the admin token of its first start)." };

    public Option<string> Authority { get; } = new("--ca") { Description = $"The authority (PEM; peerdistill certs init) an https coordinator's certificate must chain to; default ${AuthorityVariable}, else the system's trust store." };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public Command AddTo(Command command)
    {
        command.Options.Add(Address);
        command.Options.Add(Token);
        command.Options.Add(Authority);
        return command;
    }

    /// <summary>A channel to the coordinator whose calls carry the token found (the caller disposes it).</summary>
    /// <exception cref="ArgumentException">The address is not a gRPC address, or the authority's file (named by the flag or variable it came from) cannot be used.</exception>
    public Grpc.Net.Client.GrpcChannel Open(System.CommandLine.ParseResult parse)
    {
        var address = parse.GetValue(Address)!;
        return Open(parse, Credentials.Resolve(address, parse.GetValue(Token)));
    }

    /// <summary>A channel to the coordinator whose calls carry <paramref name="token"/> (the caller disposes it).</summary>
    /// <exception cref="ArgumentException">As <see cref="Open(System.CommandLine.ParseResult)"/>.</exception>
    public Grpc.Net.Client.GrpcChannel Open(System.CommandLine.ParseResult parse, string? token)
    {
        var address = parse.GetValue(Address)!;
        var flag = parse.GetValue(Authority);
        var (source, file) = string.IsNullOrWhiteSpace(flag) ? ("$" + AuthorityVariable, Environment.GetEnvironmentVariable(AuthorityVariable)) : ("--ca", flag);
        if (string.IsNullOrWhiteSpace(file))
        {
            return GrpcChannels.ForAddress(address, token);
        }

        System.Security.Cryptography.X509Certificates.X509Certificate2 authority;
        try
        {
            authority = ClusterCertificates.LoadCertificate(file);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{source}: {e.Message}", e);
        }

        return GrpcChannels.ForAddress(address, token, ClusterCertificates.TrustServersOf(authority));
    }

    /// <summary>
    /// Opens a channel, makes a client of it and runs <paramref name="call"/>; the exit code, with
    /// every failure told in one line prefixed with <paramref name="what"/>: 2 a wrong option or a
    /// refusal as invalid or unknown, 3 a refusal in the run's state (or a name in use), 4 a refusal
    /// of the credentials, 1 anything else.
    /// </summary>
    public async Task<int> CallAsync<TClient>(string what, System.CommandLine.ParseResult parse, Func<Grpc.Net.Client.GrpcChannel, TClient> client, Func<TClient, Task> call)
    {
        try
        {
            using var channel = Open(parse);
            await call(client(channel)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (Grpc.Core.RpcException e) when (Denied(e) is { } denied)
        {
            Console.Error.WriteLine($"{what}: {e.StatusCode}: {denied.Message}");
            return denied.ExitCode;
        }
        catch (Grpc.Core.RpcException e)
        {
            Console.Error.WriteLine($"{what}: {e.StatusCode}: {e.Status.Detail}");
            return e.StatusCode switch
            {
                Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.NotFound => ExitCodes.InvalidInput,
                Grpc.Core.StatusCode.FailedPrecondition or Grpc.Core.StatusCode.Aborted or Grpc.Core.StatusCode.AlreadyExists => ExitCodes.Refused,
                _ => ExitCodes.Failed,
            };
        }
    }

    /// <summary>What to tell the user about a refusal of their credentials, and the exit code; null for other failures.</summary>
    public static (string Message, int ExitCode)? Denied(Grpc.Core.RpcException e) => e.StatusCode switch
    {
        Grpc.Core.StatusCode.Unauthenticated => ($"{e.Status.Detail} (give a token with --token, ${Credentials.EnvironmentVariable} or `peerdistill login`)", ExitCodes.Denied),
        Grpc.Core.StatusCode.PermissionDenied => (e.Status.Detail, ExitCodes.Denied),
        _ => null,
    };
}
