using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>A fact reported Skipped, with the reason, where Fashion-MNIST is not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!File.Exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        {
            Skip = "Fashion-MNIST not found at /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)";
        }
    }
}
