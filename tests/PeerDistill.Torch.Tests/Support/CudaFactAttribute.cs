using Xunit;

namespace PeerDistill.Torch.Tests.Support;

/// <summary>A fact that is reported Skipped, with the reason, where libtorch sees no CUDA device.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (TorchRuntime.CudaDeviceCount == 0)
        {
            Skip = $"no CUDA device: {TorchRuntime.BuildInfo.Split(';')[0]} sees none (this test needs a GPU; bench/gpu/run.sh checks the same on the GPU machine)";
        }
    }
}
