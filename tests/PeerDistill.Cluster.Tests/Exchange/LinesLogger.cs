using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Keeps every line logged to it, for a failing assertion to show what happened.</summary>
internal sealed class LinesLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public string Text => string.Join('\n', _lines);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
    }
}
