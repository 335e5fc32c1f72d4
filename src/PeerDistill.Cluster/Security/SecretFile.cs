namespace PeerDistill.Cluster.Security;

/// <summary>Files that hold keys, certificates and tokens: written whole or not at all, with their permissions from the start.</summary>
public static class SecretFile
{
    /// <summary>Owner read and write only (a key, a token).</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/> (its folder made if missing) through a
    /// temporary file created with <paramref name="mode"/> and renamed over it, so the file is never
    /// readable with wider permissions nor seen half written.
    /// </summary>
    public static void Write(string path, string text, UnixFileMode mode)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temporary, full, overwrite: true);
    }
}
