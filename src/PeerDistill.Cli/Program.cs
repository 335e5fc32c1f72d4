using System.CommandLine;
using PeerDistill.Cli;

var root = new RootCommand("PeerDistill: peers that teach each other while they learn (online knowledge distillation on libtorch).")
{
    RunCommand.Create(),
    ValidateCommand.Create(),
    SchemaCommand.Create(),
    EvaluateCommand.Create(),
    ExportCommand.Create(),
    TrainCommand.Create(),
    InfoCommand.Create(),
    CoordinatorCommand.Create(),
    WorkerCommand.Create(),
    SubmitCommand.Create(),
    StatusCommand.Create(),
};

// Interrupts are handled by the commands themselves (run saves checkpoints first).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
