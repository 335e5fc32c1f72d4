using System.CommandLine;
using PeerDistill.Cli;
using PeerDistill.Torch;

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
    CohortsCommand.Create(),
    CohortsCommand.Workers(),
    CohortsCommand.Checkpoints(),
    CohortsCommand.Metrics(),
    CertsCommand.Create(),
    AccessCommands.Tokens(),
    AccessCommands.Audit(),
    AccessCommands.Login(),
};

// Interrupts are handled by the commands themselves (run saves checkpoints first). A command
// that needs the engine where it cannot be loaded ends with one line saying what is missing;
// any other exception a command lets through is printed whole, as an internal error.
try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
catch (TorchException e) when (e.Kind == TorchErrorKind.EngineUnavailable)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
    return ExitCodes.Failed;
}
catch (OperationCanceledException)
{
    return ExitCodes.Interrupted;
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"internal error (please report it): {e}").ConfigureAwait(false);
    return ExitCodes.Failed;
}
