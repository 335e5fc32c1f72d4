namespace PeerDistill.Rpc;

/// <summary>Reads a stream of messages, one at a time.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false at the end of the stream. Throws <see cref="RpcException"/> when the call fails.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes a stream of messages. A write completes when the transport has taken the message (flow control applies).</summary>
public interface IAsyncStreamWriter<in T>
{
    /// <summary>Writes one message; only one write may be pending at a time.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}

/// <summary>The request stream of a client- or duplex-streaming call.</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    /// <summary>Ends the request stream (half-close); the server sees the end of its request stream.</summary>
    Task CompleteAsync();
}

/// <summary>The response stream of a server- or duplex-streaming call, on the server.</summary>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>
{
}

/// <summary>Reads all messages of a stream as an async sequence.</summary>
public static class AsyncStreamReaderExtensions
{
    /// <summary>Enumerates the remaining messages of <paramref name="reader"/>.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}
