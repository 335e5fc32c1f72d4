using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

/// <summary>A fact that reports Skipped, with the reason, when the Fashion-MNIST files are not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!FashionMnist.IsAvailable(FashionMnist.DefaultDirectory))
        {
            Skip = $"Fashion-MNIST not found at {FashionMnist.DefaultDirectory} (apt-get install dataset-fashion-mnist)";
        }
    }
}
