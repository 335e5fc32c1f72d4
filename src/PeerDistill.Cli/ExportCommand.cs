using System.CommandLine;
using PeerDistill.Torch;

namespace PeerDistill.Cli;

/// <summary>`peerdistill export checkpoint out.pt`: a saved peer as a TorchScript file for PyTorch.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A peer checkpoint (.ckpt)." };
        var output = new Argument<string>("output") { Description = "TorchScript file to write (load with torch.jit.load)." };
        var command = new Command("export", "Write a saved peer as a TorchScript file usable from PyTorch.") { checkpoint, output };
        command.SetAction(parse =>
        {
            try
            {
                var (architecture, step) = Checkpoint.ExportTorchScript(parse.GetValue(checkpoint)!, parse.GetValue(output)!);
                Console.WriteLine($"wrote {Path.GetFullPath(parse.GetValue(output)!)}: {architecture} after {step} steps (in PyTorch: torch.jit.load(path))");
                return ExitCodes.Ok;
            }
            catch (TorchException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
        });
        return command;
    }
}
