using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cli;

/// <summary>What the long-running commands (coordinator, worker) share: a console log and Ctrl-C/SIGTERM as a stop request.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public ServiceProcess()
    {
        Loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information));
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public ILoggerFactory Loggers { get; }

    /// <summary>Completes on Ctrl-C or SIGTERM.</summary>
    public Task StopRequested => _stop.Task;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        Loggers.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult();
    }
}
