using System.CommandLine;
using PeerDistill.Cli;

var root = new RootCommand("PeerDistill: peers that teach each other while they learn (online knowledge distillation on libtorch).")
{
    TrainCommand.Create(),
    InfoCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
