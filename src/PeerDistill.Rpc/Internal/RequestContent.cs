using System.Net;

namespace PeerDistill.Rpc.Internal;

/// <summary>The request body of a call with one request: a single framed message, no length header.</summary>
internal sealed class SingleMessageContent(byte[] framed) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}

/// <summary>
/// The request body of a streaming call: hands the HTTP/2 request stream to the call's writer and
/// stays open until the writer completes it (half-close) or the call ends.
/// </summary>
internal sealed class StreamingContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request stream, once the HTTP layer starts sending the body.</summary>
    public Task<Stream> StreamAsync => _stream.Task;

    /// <summary>Ends the request body (END_STREAM after what was written).</summary>
    public void Complete() => _complete.TrySetResult();

    /// <summary>The call ended normally: the request body ends (END_STREAM) and writers not yet started fail with <paramref name="reason"/>.</summary>
    public void End(Exception reason)
    {
        _stream.TrySetException(reason);
        _complete.TrySetResult();
    }

    /// <summary>
    /// Gives up on the request body (the call failed or was cancelled): the body fails, so that the
    /// HTTP layer resets the stream (RST_STREAM) instead of ending it cleanly with END_STREAM.
    /// </summary>
    public void Abort(Exception reason)
    {
        _stream.TrySetException(reason);
        _complete.TrySetException(reason);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // SocketsHttpHandler holds the HEADERS frame back until the body is written or flushed: flush
        // now, so that the server sees the call start before the first message (a call whose client
        // waits for the server first would otherwise not start until some other frame flushes it).
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _stream.TrySetResult(stream);
        // Cancellation (of the call, or of the request by the HTTP layer) fails the body: the stream is reset.
        await _complete.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
