using System.Runtime.InteropServices;

namespace PeerDistill.Cli;

/// <summary>
/// What the long-running commands (coordinator, worker) share: Ctrl-C/SIGTERM as a stop request
/// (the first thing done on it is what the command registered with <see cref="OnStop"/>, on the
/// signal's own thread; the hosts in the process never react to signals by themselves), and the log
/// level of their console.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    /// <summary>The console log level of the long-running commands (Orleans' own categories log warnings and worse).</summary>
    public const Microsoft.Extensions.Logging.LogLevel LogLevel = Microsoft.Extensions.Logging.LogLevel.Information;

    private readonly object _gate = new();
    private readonly TaskCompletionSource<string> _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private readonly List<Action<string>> _onStop = [];
    private string? _signal;

    public ServiceProcess()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Completes on Ctrl-C or SIGTERM, with the signal's name.</summary>
    public Task<string> StopRequested => _stop.Task;

    /// <summary>
    /// Runs <paramref name="action"/> (with the signal's name) on the signal's thread when a stop is
    /// requested, before <see cref="StopRequested"/> completes; at once if one was requested already.
    /// It must return quickly. Dispose the result to take it back.
    /// </summary>
    public IDisposable OnStop(Action<string> action)
    {
        string signal;
        lock (_gate)
        {
            if (_signal is null)
            {
                _onStop.Add(action);
                return new Registration(this, action);
            }

            signal = _signal;
        }

        action(signal);
        return new Registration(this, action);
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        var signal = context.Signal.ToString();
        List<Action<string>> actions;
        lock (_gate)
        {
            if (_signal is not null)
            {
                return;
            }

            _signal = signal;
            actions = [.. _onStop];
        }

        foreach (var action in actions)
        {
            action(signal);
        }

        _stop.TrySetResult(signal);
    }

    private sealed class Registration(ServiceProcess owner, Action<string> action) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._onStop.Remove(action);
            }
        }
    }
}
