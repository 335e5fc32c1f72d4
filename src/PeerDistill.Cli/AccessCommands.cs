using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using PeerDistill.Api.Access;
using PeerDistill.Cluster.Security;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill tokens create|list|revoke`, `peerdistill audit` (admins) and `peerdistill login`:
/// the API's credentials from the command line, over gRPC (AccessService). Exit codes as for
/// `cohorts`: 0 done, 2 invalid or unknown, 3 refused (a name in use), 4 refused for the credentials,
/// 1 the coordinator failed or could not be reached.
/// </summary>
internal static class AccessCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation().WithFormatDefaultValues(true));

    public static Command Tokens()
    {
        var command = new Command("tokens", "Make, list and revoke the API tokens of a coordinator (admins).");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        command.Subcommands.Add(Mint());
        return command;
    }

    /// <summary>
    /// `peerdistill tokens mint FILE`: a new token's text, made here and known to no coordinator, into FILE
    /// (owner-only; an existing file is kept unless --force), for a coordinator's --admin-token-file.
    /// </summary>
    private static Command Mint()
    {
        var file = new Argument<string>("file") { Description = "Where to write it (readable by this user only)." };
        var force = new Option<bool>("--force") { Description = "Replace the file if it exists." };
        var command = new Command("mint", "Make a token's text here, into a file, for a coordinator's --admin-token-file (a deployment's admin token; no coordinator is called).") { file, force };
        command.SetAction(parse =>
        {
            var path = Path.GetFullPath(parse.GetValue(file)!);
            if (File.Exists(path) && !parse.GetValue(force))
            {
                Console.Error.WriteLine($"error: {path} exists; give --force to replace it");
                return ExitCodes.InvalidInput;
            }

            try
            {
                SecretFile.Write(path, ApiTokenFormat.Create().Token + "\n", SecretFile.OwnerOnly);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {path} cannot be written: {e.Message}");
                return ExitCodes.Failed;
            }

            Console.WriteLine($"wrote a new API token to {path} (readable by this user only); start a coordinator with --admin-token-file {path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The token's unique name (who acted, in the audit trail): letters, digits, '-', '_', '.'." };
        var role = new Option<string>("--role") { Description = $"What it may do: {string.Join(", ", ApiRoles.Names)}.", Required = true };
        role.AcceptOnlyFromAmong([.. ApiRoles.Names]);
        var project = new Option<string?>("--project") { Description = "Confine it to one project's cohorts (default: every project; an admin confined to a project makes tokens of its own)." };
        var expiresIn = new Option<string?>("--expires-in") { Description = "It stops working after this long: e.g. 90d, 12h, 30m (default: never)." };
        var json = JsonOption();
        var coordinator = new CoordinatorTarget();
        var command = coordinator.AddTo(new Command("create", "Make an API token and print it: it is shown this once (the coordinator keeps only a salted hash).") { name, role, project, expiresIn, json });
        command.SetAction(async (parse, cancellation) =>
        {
            var request = new CreateTokenRequest { Name = parse.GetValue(name)!, Role = parse.GetValue(role)!, Project = parse.GetValue(project) ?? string.Empty };
            if (parse.GetValue(expiresIn) is { } text)
            {
                if (ParseDuration(text) is not { } duration)
                {
                    Console.Error.WriteLine($"tokens create: --expires-in: '{text}' is not a duration such as 90d, 12h or 30m");
                    return ExitCodes.InvalidInput;
                }

                request.ExpiresUnixMillis = (DateTimeOffset.UtcNow + duration).ToUnixTimeMilliseconds();
            }

            return await CallAsync("tokens create", coordinator, parse, async client =>
            {
                var reply = await client.CreateTokenAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(Json.Format(reply));
                    return;
                }

                Console.Error.WriteLine($"made token '{reply.Info.Name}' ({reply.Info.Role}{(reply.Info.Project.Length > 0 ? ", project " + reply.Info.Project : string.Empty)}{(reply.Info.HasExpiresUnixMillis ? ", expires " + Time(reply.Info.ExpiresUnixMillis) : string.Empty)}); it is shown this once:");
                Console.WriteLine(reply.Token);
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List()
    {
        var json = JsonOption();
        var coordinator = new CoordinatorTarget();
        var command = coordinator.AddTo(new Command("list", "List the API tokens (never their secrets), oldest first.") { json });
        command.SetAction(async (parse, cancellation) => await CallAsync("tokens list", coordinator, parse, async client =>
        {
            var reply = await client.ListTokensAsync(new ListTokensRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            TextTable.Print(
                ["NAME", "ID", "ROLE", "PROJECT", "CREATED", "BY", "EXPIRES", "REVOKED"],
                reply.Tokens.Select(t => new[]
                {
                    t.Name, t.Id, t.Role, t.Project.Length == 0 ? "*" : t.Project, Time(t.CreatedUnixMillis), t.CreatedBy,
                    t.HasExpiresUnixMillis ? Time(t.ExpiresUnixMillis) : "never", t.HasRevokedUnixMillis ? Time(t.RevokedUnixMillis) : "-",
                }).ToList(),
                "no tokens");
        }).ConfigureAwait(false));
        return command;
    }

    private static Command Revoke()
    {
        var name = new Argument<string>("name") { Description = "The token's name (or id)." };
        var coordinator = new CoordinatorTarget();
        var command = coordinator.AddTo(new Command("revoke", "Revoke an API token: it stops working at once.") { name });
        command.SetAction(async (parse, cancellation) => await CallAsync("tokens revoke", coordinator, parse, async client =>
        {
            var token = await client.RevokeTokenAsync(new RevokeTokenRequest { Name = parse.GetValue(name)! }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            Console.WriteLine($"revoked token '{token.Name}' ({token.Id}) at {Time(token.RevokedUnixMillis)}");
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>`peerdistill audit --coordinator URL`: the audit trail, newest first.</summary>
    public static Command Audit()
    {
        var limit = new Option<int>("--limit") { Description = "How many entries (1-1000).", DefaultValueFactory = _ => AuditQuery.DefaultLimit };
        var actor = new Option<string?>("--actor") { Description = "Only this actor's entries (a token's name or a JWT's subject)." };
        var cohort = new Option<string?>("--cohort") { Description = "Only entries about this cohort." };
        var json = JsonOption();
        var coordinator = new CoordinatorTarget();
        var command = coordinator.AddTo(new Command("audit", "Show the audit trail: who did what to which run or token, when, from where (admins).") { limit, actor, cohort, json });
        command.SetAction(async (parse, cancellation) => await CallAsync("audit", coordinator, parse, async client =>
        {
            var request = new ListAuditRequest { Limit = parse.GetValue(limit), Actor = parse.GetValue(actor) ?? string.Empty, Cohort = parse.GetValue(cohort) ?? string.Empty };
            var reply = await client.ListAuditAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(reply));
                return;
            }

            TextTable.Print(
                ["TIME", "ACTOR", "ACTION", "COHORT", "RUN", "TARGET", "OUTCOME", "FROM"],
                reply.Entries.Select(e => new[]
                {
                    Time(e.TimeUnixMillis), e.Actor + (e.Project.Length > 0 ? $" ({e.Project})" : string.Empty), e.Action, Dash(e.Cohort), Dash(e.Run), Dash(e.Target), e.Outcome, Dash(e.Address),
                }).ToList(),
                "no entries");
        }).ConfigureAwait(false));
        return command;
    }

    /// <summary>`peerdistill login --coordinator URL`: reads a token from standard input, checks it, and saves it in the credentials file.</summary>
    public static Command Login()
    {
        var any = new Option<bool>("--default") { Description = "Save it as the token for every coordinator without a line of its own (\"*\")." };
        var coordinator = new CoordinatorTarget();
        var command = coordinator.AddTo(new Command("login", $"Save an API token for a coordinator in {Credentials.FilePath} (readable by you only): it is read from standard input (or --token) and checked first.") { any });
        command.SetAction(async (parse, cancellation) =>
        {
            var token = parse.GetValue(coordinator.Token);
            if (string.IsNullOrWhiteSpace(token))
            {
                if (!Console.IsInputRedirected)
                {
                    Console.Error.Write("API token: ");
                }

                token = (await Console.In.ReadLineAsync(cancellation).ConfigureAwait(false))?.Trim();
            }

            if (string.IsNullOrEmpty(token))
            {
                Console.Error.WriteLine("login: no token given (pipe it on standard input, or --token)");
                return ExitCodes.InvalidInput;
            }

            var address = parse.GetValue(coordinator.Address)!;
            try
            {
                using var channel = coordinator.Open(parse, token);
                await new CohortService.CohortServiceClient(channel).ListCohortsAsync(new ListCohortsRequest { PageSize = 1 }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation).ResponseAsync.ConfigureAwait(false);
                Credentials.Save(parse.GetValue(any) ? "*" : address, token);
                Console.WriteLine($"the token works at {address}; saved in {Credentials.FilePath}" + (parse.GetValue(any) ? " for every coordinator" : string.Empty));
                return ExitCodes.Ok;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"login: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"login: {e.Message}");
                return ExitCodes.Failed;
            }
            catch (RpcException e) when (CoordinatorTarget.Denied(e) is { } denied)
            {
                Console.Error.WriteLine($"login: the coordinator refused the token, not saved: {e.Status.Detail}");
                return denied.ExitCode;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"login: {e.StatusCode}: {e.Status.Detail}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    /// <summary>A duration such as <c>90d</c>, <c>12h</c>, <c>30m</c> or <c>45s</c>; null for anything else (or not positive).</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0 || count > 100_000)
        {
            return null;
        }

        return char.ToLowerInvariant(text[^1]) switch
        {
            'd' => TimeSpan.FromDays(count),
            'h' => TimeSpan.FromHours(count),
            'm' => TimeSpan.FromMinutes(count),
            's' => TimeSpan.FromSeconds(count),
            _ => null,
        };
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print the reply as JSON (protobuf's JSON mapping)." };

    private static string Time(long unixMillis) => DateTimeOffset.FromUnixTimeMilliseconds(unixMillis).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Dash(string text) => text.Length == 0 ? "-" : text;

    private static Task<int> CallAsync(string what, CoordinatorTarget coordinator, ParseResult parse, Func<AccessService.AccessServiceClient, Task> call) =>
        coordinator.CallAsync(what, parse, channel => new AccessService.AccessServiceClient(channel), call);
}
