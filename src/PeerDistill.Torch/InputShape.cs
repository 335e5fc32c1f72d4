namespace PeerDistill.Torch;

/// <summary>Shape of one input sample: channels, height, width.</summary>
public readonly record struct InputShape(int Channels, int Height, int Width)
{
    /// <summary>Number of values in one sample.</summary>
    public int Size => Channels * Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
