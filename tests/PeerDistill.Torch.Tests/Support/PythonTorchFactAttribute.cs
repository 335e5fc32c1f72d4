using Xunit;

namespace PeerDistill.Torch.Tests.Support;

/// <summary>A fact that is reported Skipped, with the reason, where python3-torch is absent.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.WhyUnavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
