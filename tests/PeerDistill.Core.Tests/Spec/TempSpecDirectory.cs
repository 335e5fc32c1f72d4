namespace PeerDistill.Core.Tests.Spec;

/// <summary>A fresh directory for spec files, deleted on dispose.</summary>
internal sealed class TempSpecDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("peerdistill-spec-").FullName;

    /// <summary>Writes <paramref name="text"/> to <paramref name="relativePath"/> (folders created) and returns the full path.</summary>
    public string Write(string relativePath, string text)
    {
        var full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Left behind; the OS cleans its temp folder.
        }
    }
}
