using System.Globalization;
using System.Reflection;

namespace PeerDistill.Api.Storage;

/// <summary>One schema migration: its version (1, 2, ...), its name and its script for one engine (an embedded resource <c>peerdistill/migrations/&lt;engine&gt;/NNNN_name.sql</c>).</summary>
internal sealed record Migration(int Version, string Name, string Sql)
{
    private const string Prefix = "peerdistill/migrations/";

    /// <summary>The migrations of <paramref name="provider"/>, oldest first.</summary>
    public static IReadOnlyList<Migration> For(DatabaseProvider provider)
    {
        var folder = $"{Prefix}{Folder(provider)}/";
        var assembly = typeof(Migration).Assembly;
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Load(assembly, n, n[folder.Length..^".sql".Length]))
            .OrderBy(m => m.Version)
            .ToList();
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"the {provider} migrations are not numbered 1, 2, ... (found {migrations[i].Version} at position {i + 1})");
            }
        }

        return migrations;
    }

    private static string Folder(DatabaseProvider provider) => provider == DatabaseProvider.Postgres ? "postgres" : "sqlite";

    private static Migration Load(Assembly assembly, string resource, string file)
    {
        var underscore = file.IndexOf('_', StringComparison.Ordinal);
        if (underscore < 1 || !int.TryParse(file.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidOperationException($"migration resource '{resource}' is not named NNNN_name.sql");
        }

        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return new Migration(version, file[(underscore + 1)..], reader.ReadToEnd());
    }
}
