namespace PeerDistill.Torch.Data;

/// <summary>The contents of an IDX uint8 image file: <paramref name="Count"/> images of <paramref name="Rows"/> x <paramref name="Columns"/> bytes, row-major.</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels)
{
    /// <summary>Bytes per image.</summary>
    public int ImageSize => Rows * Columns;
}
