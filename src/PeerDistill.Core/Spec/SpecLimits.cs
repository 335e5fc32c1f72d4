namespace PeerDistill.Core.Spec;

/// <summary>
/// The bounds every spec is read within, whoever sends it (a file on the command line, a Submit,
/// an Activate): a spec beyond them is refused before or while it is parsed, in time linear in
/// what was read, with an error that names the limit. Real specs are a few kilobytes, five levels
/// deep.
/// </summary>
public static class SpecLimits
{
    /// <summary>The largest spec, in bytes of UTF-8 (1 MiB).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The deepest nesting of mappings and lists (a spec needs six levels).</summary>
    public const int MaxDepth = 32;

    /// <summary>The most YAML nodes (scalars, mappings, lists and aliases) in one spec.</summary>
    public const int MaxNodes = 200_000;

    /// <summary>The most problems reported for one spec; the rest are counted in one last line.</summary>
    public const int MaxErrors = 100;
}
