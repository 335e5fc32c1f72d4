using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadImages_RawOrGzipFile_RoundTrips(bool gzip)
    {
        using var dir = new ScratchDirectory();
        var bytes = IdxBytes.Images(count: 3, rows: 4, columns: 5);
        var path = dir.Write("images.idx", gzip ? IdxBytes.Gzip(bytes) : bytes);

        var images = IdxReader.ReadImages(path);

        Assert.Equal((3, 4, 5), (images.Count, images.Rows, images.Columns));
        Assert.Equal(bytes[16..], images.Pixels);
        Assert.Equal((byte)((2 * 31 + 7) % 256), images.Pixels[2 * 20 + 7]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadLabels_RawOrGzipFile_RoundTrips(bool gzip)
    {
        using var dir = new ScratchDirectory();
        var bytes = IdxBytes.Labels(9, 0, 3, 7);
        var path = dir.Write("labels.idx", gzip ? IdxBytes.Gzip(bytes) : bytes);

        Assert.Equal(new byte[] { 9, 0, 3, 7 }, IdxReader.ReadLabels(path));
    }

    [Fact]
    public void ReadImages_NonSeekableGzipStream_RoundTrips()
    {
        var bytes = IdxBytes.Images(count: 2, rows: 3, columns: 3);
        using var stream = new ForwardOnlyStream(IdxBytes.Gzip(bytes));

        var images = IdxReader.ReadImages(stream, "memory");

        Assert.Equal(bytes[16..], images.Pixels);
    }

    [Fact]
    public void ReadImages_BadMagic_ErrorNamesPathAndMagic()
    {
        using var dir = new ScratchDirectory();
        var path = dir.Write("bad.idx", IdxBytes.File(0x12340803, [1, 2, 2], new byte[4]));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("bad magic 0x12340803", error.Message);
    }

    [Fact]
    public void ReadImages_LabelFile_ErrorNamesExpectedMagic()
    {
        using var dir = new ScratchDirectory();
        var path = dir.Write("labels.idx", IdxBytes.Labels(1, 2));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("expected 0x00000803", error.Message);
    }

    [Fact]
    public void ReadLabels_UnsupportedElementType_ErrorNamesType()
    {
        using var dir = new ScratchDirectory();
        var path = dir.Write("floats.idx", IdxBytes.File(0x00000D01, [1], new byte[4]));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("unsupported element type 0x0D", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadImages_TruncatedData_ErrorNamesPathAndByteCounts(bool gzip)
    {
        using var dir = new ScratchDirectory();
        var bytes = IdxBytes.Images(count: 2, rows: 4, columns: 4)[..^5];
        var path = dir.Write("short.idx", gzip ? IdxBytes.Gzip(bytes) : bytes);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("expected 32 bytes", error.Message);
        Assert.Contains("got 27", error.Message);
    }

    [Fact]
    public void ReadLabels_TruncatedHeader_ErrorNamesPath()
    {
        using var dir = new ScratchDirectory();
        var path = dir.Write("stub.idx", [0, 0, 8, 1, 0, 0]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void ReadImages_CorruptGzip_ErrorNamesPath()
    {
        using var dir = new ScratchDirectory();
        var gzip = IdxBytes.Gzip(IdxBytes.Images(count: 50, rows: 8, columns: 8));
        for (var i = 12; i < gzip.Length - 8; i++)
        {
            gzip[i] ^= 0x5A;
        }

        var path = dir.Write("corrupt.idx.gz", gzip);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void ReadImages_MissingFile_FileNotFoundNamesPath()
    {
        using var dir = new ScratchDirectory();
        var path = Path.Combine(dir.Path, "absent.idx");

        var error = Assert.Throws<FileNotFoundException>(() => IdxReader.ReadImages(path));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }
}
