using System.CommandLine;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Cli;

/// <summary>`peerdistill info`: what engine, devices, models and data this machine offers.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the libtorch build, devices, the model zoo and whether Fashion-MNIST is installed.");
        command.SetAction(_ =>
        {
            Console.WriteLine($"engine:   {TorchRuntime.BuildInfo.Split('\n')[0]}");
            Console.WriteLine($"threads:  {TorchRuntime.NumThreads} intra-op (default), {Environment.ProcessorCount} cores, {OpenMpWaits()}");
            Console.WriteLine($"cuda:     {TorchRuntime.CudaDeviceCount} device(s)");
            Console.WriteLine($"models:   {string.Join(", ", Model.ZooNames)}, or any TorchScript file");
            Console.WriteLine($"data:     fashion-mnist {(FashionMnist.IsAvailable() ? "at " + FashionMnist.DefaultDirectory : "not installed (apt-get install dataset-fashion-mnist)")}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// How the engine's OpenMP threads wait between parallel regions: spinning (libgomp's default) costs
    /// nothing on cores of their own and a core's worth of waste on a busy machine (docs/engine.md).
    /// </summary>
    private static string OpenMpWaits() => Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 } policy
        ? $"OMP_WAIT_POLICY={policy}"
        : "OpenMP threads spin while they wait (OMP_WAIT_POLICY unset; PASSIVE on a shared machine)";
}
