namespace PeerDistill.Torch.Data;

/// <summary>
/// Random training-time augmentation, applied to raw pixels before normalization: a random crop
/// of the image zero-padded by <see cref="CropPadding"/> pixels on every side (that is, a random
/// shift of up to that many pixels each way), then a horizontal flip with probability 1/2.
/// </summary>
public sealed record Augmentation
{
    /// <summary>Creates an augmentation; the defaults turn everything off.</summary>
    public Augmentation(int cropPadding = 0, bool horizontalFlip = false)
    {
        CropPadding = cropPadding;
        HorizontalFlip = horizontalFlip;
    }

    /// <summary>No augmentation.</summary>
    public static Augmentation None { get; } = new();

    /// <summary>Zero padding, in pixels, around the image before the random crop; 0 turns cropping off.</summary>
    public int CropPadding
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(CropPadding));
            field = value;
        }
    }

    /// <summary>Whether to mirror each image left-right with probability 1/2.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>True when this augmentation leaves images unchanged.</summary>
    public bool IsNone => CropPadding == 0 && !HorizontalFlip;
}
