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
            Console.WriteLine($"threads:  {TorchRuntime.NumThreads} intra-op (default), {Environment.ProcessorCount} cores");
            Console.WriteLine($"cuda:     {TorchRuntime.CudaDeviceCount} device(s)");
            Console.WriteLine($"models:   {string.Join(", ", Model.ZooNames)}, or any TorchScript file");
            Console.WriteLine($"data:     fashion-mnist {(FashionMnist.IsAvailable() ? "at " + FashionMnist.DefaultDirectory : "not installed (apt-get install dataset-fashion-mnist)")}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
