using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace PeerDistill.Cli;

/// <summary>
/// The configuration of the long-running commands (coordinator, worker), from three sources, each
/// over the one before: an optional JSON file (<c>--config</c>), environment variables
/// (<c>PEERDISTILL_</c> and the key with <c>__</c> between sections: <c>PEERDISTILL_WORKER__SLOTS=2</c>),
/// and the flags given on the command line (a flag left out takes its value from the others, or the
/// options' default).
/// </summary>
internal static class ServiceConfiguration
{
    /// <summary>The prefix of the environment variables read (removed from the key).</summary>
    public const string EnvironmentPrefix = "PEERDISTILL_";

    /// <summary>The flag naming the JSON configuration file.</summary>
    /// <summary>The <c>--insecure</c> flag of a service command (<paramref name="section"/>:Insecure).</summary>
    public static Option<bool> InsecureOption(string section) => new("--insecure")
    {
        Description = $"Allow --host beyond loopback although the cluster's connections are neither authenticated nor encrypted (not needed with --tls-*): only on a network you trust ({section}:Insecure).",
    };

    /// <summary>The <c>--tls-cert</c>, <c>--tls-key</c> and <c>--tls-ca</c> flags of a service command (<paramref name="section"/>:Tls:*).</summary>
    public static (Option<string> Certificate, Option<string> Key, Option<string> Authority) TlsOptions(string section) => (
        new("--tls-cert") { Description = $"This node's certificate (PEM; peerdistill certs issue): TLS on every endpoint (mutual between silos and on the exchange), with --tls-key and --tls-ca; the files are read again when they change ({section}:Tls:Certificate)." },
        new("--tls-key") { Description = $"Its key (PKCS#8 PEM) ({section}:Tls:Key)." },
        new("--tls-ca") { Description = $"The cluster's authority (PEM; peerdistill certs init): other silos and exchange senders must present a certificate it issued ({section}:Tls:Authority)." });

    /// <summary>Warns on stderr when a service listens beyond loopback only because of <c>--insecure</c> (without TLS).</summary>
    public static void WarnIfExposed(string host, bool insecure, bool tls)
    {
        if (insecure && Cluster.Hosting.ListenSettings.ExposureProblem(("Host", host), insecure: false, tls) is not null)
        {
            Console.Error.WriteLine($"warning: --insecure: listening on {host} without authentication or encryption; whoever reaches this address can join the cluster, command it and send its peers frames");
        }
    }

    /// <summary>The telemetry flags of a service command (<paramref name="section"/>:Telemetry:*); OTLP is configured by the standard OTEL_* variables.</summary>
    public static (Option<int?> MetricsPort, Option<long?> TraceEverySteps, Option<double?> TraceSlowerThanMs) TelemetryOptions(string section) => (
        new("--metrics-port") { Description = $"Serve Prometheus metrics at http://<host>:<port>/metrics (0: a free port, printed); default none ({section}:Telemetry:MetricsPort). OTLP export: set OTEL_EXPORTER_OTLP_ENDPOINT." },
        new("--trace-every-steps") { Description = $"Trace every Nth training step of every peer when traces are exported; 0: none (default {Core.Telemetry.TraceSampling.DefaultEverySteps}; a spec's tracing.every_steps wins; {section}:Telemetry:TraceEverySteps)." },
        new("--trace-slower-than-ms") { Description = $"Also trace every step slower than this; 0: none (default {Core.Telemetry.TraceSampling.DefaultSlowerThanMs}; a spec's tracing.slower_than_ms wins; {section}:Telemetry:TraceSlowerThanMs)." });

    public static Option<string?> ConfigOption() => new("--config") { Description = "A JSON file of settings ({\"Worker\": {\"Slots\": 2}}); environment variables PEERDISTILL_<SECTION>__<KEY> override it, and flags override both." };

    /// <summary>
    /// Loads one section's settings for <paramref name="parse"/>: the file of <paramref name="config"/>,
    /// the environment, then each of <paramref name="flags"/> that was given, under
    /// <c>section:key</c>; <paramref name="bind"/> binds the section onto the options (written at the
    /// call site with the concrete type, so that the binding generator sees it), and
    /// <paramref name="problems"/> checks them. The configuration, for the process's host (which binds
    /// the options again through its hosting extension); null, with every problem on stderr (each naming
    /// its flag and key), when the file cannot be read, a value is not of its key's type, a key is
    /// unknown, or a setting is wrong.
    /// </summary>
    public static IConfiguration? Load(ParseResult parse, Option<string?> config, string section, IReadOnlyList<(Option Flag, string Key)> flags, Action<IConfigurationSection> bind, Func<IEnumerable<(string Key, string Message)>> problems)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(bind);
        ArgumentNullException.ThrowIfNull(problems);
        var file = parse.GetValue(config);
        var given = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (flag, key) in flags)
        {
            if (parse.GetResult(flag) is { Implicit: false } result)
            {
                given[section + ":" + key] = Convert.ToString(result.GetValueOrDefault<object?>(), CultureInfo.InvariantCulture);
            }
        }

        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"--config: '{file}' does not exist");
                return null;
            }

            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix).AddInMemoryCollection(given);
        IConfiguration configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            Console.Error.WriteLine($"--config: '{file}' is not a JSON settings file: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}");
            return null;
        }

        try
        {
            bind(configuration.GetSection(section));
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}");
            return null;
        }

        var found = problems().ToList();
        foreach (var (key, message) in found)
        {
            var flag = flags.FirstOrDefault(f => f.Key == key).Flag;
            Console.Error.WriteLine($"{(flag is null ? string.Empty : flag.Name + " / ")}{section}:{key}: {message}");
        }

        return found.Count == 0 ? configuration : null;
    }
}
