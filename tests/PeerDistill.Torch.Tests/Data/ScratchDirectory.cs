namespace PeerDistill.Torch.Tests.Data;

/// <summary>A fresh temporary folder, deleted with its contents on dispose.</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        Path = Directory.CreateTempSubdirectory("peerdistill-data-").FullName;
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="contents"/> to <paramref name="name"/> in this folder and returns the file's path.</summary>
    public string Write(string name, byte[] contents)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, contents);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
