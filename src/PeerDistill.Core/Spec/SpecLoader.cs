using PeerDistill.Core.Spec.Internal;

namespace PeerDistill.Core.Spec;

/// <summary>
/// Reads a cohort spec from YAML or JSON (JSON is YAML's flow style) into a <see cref="CohortSpec"/>,
/// collecting every problem with its field path, line and column rather than stopping at the first.
/// Zoo models and their options are checked by building them once with the native engine.
/// </summary>
public static class SpecLoader
{
    /// <summary>The strategy keys <c>distillation.strategy</c> accepts: those of <see cref="Strategies.StrategyRegistry"/>.</summary>
    public static IReadOnlyCollection<string> KnownStrategies => Strategies.StrategyRegistry.Keys;

    /// <summary>
    /// Reads the spec file at <paramref name="path"/>; relative model files resolve against its
    /// directory. Messages name the path as given; <see cref="CohortSpec.SourcePath"/> is the full path.
    /// </summary>
    public static SpecLoadResult Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            // A file larger than any spec is refused before it is read.
            if (new FileInfo(path).Length is var length && length > SpecLimits.MaxBytes)
            {
                return new SpecLoadResult(null, [new SpecError(string.Empty, $"the spec is {length} bytes; a spec may have at most {SpecLimits.MaxBytes} bytes", 0, 0) { Source = path }]);
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            return new SpecLoadResult(null, [new SpecError(string.Empty, $"cannot read the spec: {e.Message}", 0, 0) { Source = path }]);
        }

        var fullPath = System.IO.Path.GetFullPath(path);
        return Parse(text, path, System.IO.Path.GetDirectoryName(fullPath) ?? Environment.CurrentDirectory, fullPath, engineChecks: true);
    }

    /// <summary>
    /// Reads a spec from <paramref name="text"/>. <paramref name="sourceName"/> names it in messages
    /// and becomes <see cref="CohortSpec.SourcePath"/>; relative model files resolve against its
    /// directory (the working directory for a bare name such as <c>&lt;stdin&gt;</c>).
    /// </summary>
    public static SpecLoadResult Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(sourceName)) ?? Environment.CurrentDirectory;
        return Parse(text, sourceName, directory, sourceName, engineChecks: true);
    }

    /// <summary>
    /// Like <see cref="Parse(string, string)"/>, but without the checks that need the engine (zoo
    /// model names and options are not built): every other rule holds. For processes that do not
    /// load libtorch (the coordinator); the silo that hosts a peer checks the rest when it starts it.
    /// </summary>
    public static SpecLoadResult ParseWithoutEngine(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(sourceName)) ?? Environment.CurrentDirectory;
        return Parse(text, sourceName, directory, sourceName, engineChecks: false);
    }

    private static SpecLoadResult Parse(string text, string sourceName, string baseDirectory, string sourcePath, bool engineChecks)
    {
        var context = new SpecContext(sourceName);
        var spec = new SpecParser(context, baseDirectory, sourcePath, engineChecks).Parse(text);
        return new SpecLoadResult(context.HasErrors ? null : spec, context.Errors);
    }
}
