namespace PeerDistill.Core.Storage;

/// <summary>
/// Paths that must stay under a root directory, whoever names them: a path is made absolute, the
/// symbolic links among the parts of it that exist are followed, and only then is it compared with
/// the root (resolved the same way), so neither <c>..</c> nor a link leads out.
/// </summary>
public static class ConfinedPath
{
    private const int MaxLinks = 40;

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies below it.</summary>
    public static bool IsUnder(string path, string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(root);
        var resolvedRoot = Resolve(root);
        var resolved = Resolve(path);
        var prefix = resolvedRoot.EndsWith(Path.DirectorySeparatorChar) ? resolvedRoot : resolvedRoot + Path.DirectorySeparatorChar;
        return resolved == resolvedRoot || resolved.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>The absolute form of <paramref name="path"/> with the links of its existing parts followed.</summary>
    public static string Resolve(string path)
    {
        var links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    private static string Resolve(string full, ref int links)
    {
        var root = Path.GetPathRoot(full) ?? string.Empty;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                if (++links > MaxLinks)
                {
                    throw new IOException($"too many symbolic links in '{full}'");
                }

                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : Resolve(Path.GetFullPath(target.FullName), ref links);
            }

            current = next;
        }

        return current;
    }
}
