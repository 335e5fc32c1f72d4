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
    public static Option<string?> ConfigOption() => new("--config") { Description = "A JSON file of settings ({\"Worker\": {\"Slots\": 2}}); environment variables PEERDISTILL_<SECTION>__<KEY> override it, and flags override both." };

    /// <summary>
    /// The configuration for <paramref name="parse"/>: <paramref name="file"/>, the environment, then
    /// each flag of <paramref name="flags"/> that was given, under its key. Null, with the reason on
    /// stderr, when the file cannot be read.
    /// </summary>
    public static IConfiguration? Build(ParseResult parse, string? file, IEnumerable<(Option Flag, string Key)> flags)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var given = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (flag, key) in flags)
        {
            if (parse.GetResult(flag) is { Implicit: false } result)
            {
                given[key] = Convert.ToString(result.GetValueOrDefault<object?>(), CultureInfo.InvariantCulture);
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
        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            Console.Error.WriteLine($"--config: '{file}' is not a JSON settings file: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}");
            return null;
        }
    }

    /// <summary>
    /// Runs <paramref name="bind"/> (a binding of one section onto its options, written at the call
    /// site with the concrete type so that the binding generator sees it); false, with the reason on
    /// stderr, when a value is not of its key's type or a key is unknown.
    /// </summary>
    public static bool TryBind(Action bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        try
        {
            bind();
            return true;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : string.Empty)}");
            return false;
        }
    }
}
