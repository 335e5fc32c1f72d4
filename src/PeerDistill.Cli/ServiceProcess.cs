using System.Runtime.InteropServices;

namespace PeerDistill.Cli;

/// <summary>What the long-running commands (coordinator, worker) share: Ctrl-C/SIGTERM as a stop request, and the log level of their console.</summary>
internal sealed class ServiceProcess : IDisposable
{
    /// <summary>The console log level of the long-running commands (Orleans' own categories log warnings and worse).</summary>
    public const Microsoft.Extensions.Logging.LogLevel LogLevel = Microsoft.Extensions.Logging.LogLevel.Information;

    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public ServiceProcess()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Completes on Ctrl-C or SIGTERM.</summary>
    public Task StopRequested => _stop.Task;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult();
    }
}
