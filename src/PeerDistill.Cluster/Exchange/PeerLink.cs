using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// Carries one local peer's frames to one receiving peer: a long-lived Exchange stream to the
/// receiver's worker (or a direct hand-over when the receiver is hosted here). Frames queue in a
/// bounded buffer that drops the oldest (a receiver that is gone needs none of them). When the
/// receiver moves (re-activated elsewhere, new generation) or the stream fails, the link
/// reconnects and sends the latest frame again, so the receiver learns where its teacher is.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);
    private readonly string _sender;
    private readonly string _receiver;
    private readonly string _localAddress;
    private readonly ExchangeHub _localHub;
    private readonly CohortDirectory _directory;
    private readonly Func<string, GrpcChannel> _channelFor;
    private readonly ILogger _logger;
    private readonly Channel<(LogitsFrame Frame, long Enqueued)> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ExchangeStatistics _statistics;
    private LogitsFrame? _last;

    // The earliest frame the receiver refused for now: too far ahead of it (it is catching up after a
    // re-activation), ahead of what the coordinator has told it of this sender's progress (a new
    // stream), or of a generation the coordinator's news has not brought it yet. It is sent again
    // until it is taken or has become useless (the receiver moved past it).
    private LogitsFrame? _retry;

    public PeerLink(string sender, string receiver, string localAddress, ExchangeHub localHub, CohortDirectory directory, Func<string, GrpcChannel> channelFor, ExchangeStatistics statistics, ILogger logger)
    {
        _sender = sender;
        _receiver = receiver;
        _localAddress = localAddress;
        _localHub = localHub;
        _directory = directory;
        _channelFor = channelFor;
        _statistics = statistics;
        _logger = logger;
        _queue = Channel.CreateBounded<(LogitsFrame, long)>(new BoundedChannelOptions(Math.Max(8, localHub.Settings.Window)) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        _loop = Task.Run(RunAsync);
    }

    public void Enqueue(LogitsFrame frame) => _queue.Writer.TryWrite((frame, Stopwatch.GetTimestamp()));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // Let the queued frames go out (bounded by the stream's own failure handling), then stop.
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != _loop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!_stop.IsCancellationRequested)
        {
            var location = _directory.Find(_receiver);
            if (location is null || location.State != PeerPresence.Active)
            {
                if (location?.State == PeerPresence.Done || _queue.Reader.Completion.IsCompleted)
                {
                    return;
                }

                await _directory.WaitForChangeAsync(TimeSpan.FromMilliseconds(250), _stop.Token).ConfigureAwait(false);
                continue;
            }

            try
            {
                var finished = location.Address == _localAddress
                    ? await DeliverLocallyAsync(location).ConfigureAwait(false)
                    : await StreamAsync(location).ConfigureAwait(false);
                if (finished)
                {
                    return;
                }

                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or HttpRequestException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                Log.LinkFailed(_logger, _sender, _receiver, location.Address, e.Message);
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>Hands frames to the hub of this worker while the receiver stays at <paramref name="location"/>; true when the queue is done.</summary>
    private async Task<bool> DeliverLocallyAsync(PeerLocation location)
    {
        if (_last is not null)
        {
            Deliver(_last, Stopwatch.GetTimestamp());
        }

        while (await WaitForFrameAsync(location).ConfigureAwait(false))
        {
            if (_queue.Reader.TryRead(out var item))
            {
                Deliver(item.Frame, item.Enqueued);
                _last = item.Frame;
            }
            else if (Volatile.Read(ref _retry) is { } retry)
            {
                Deliver(retry, Stopwatch.GetTimestamp());
            }
        }

        return _queue.Reader.Completion.IsCompleted;
    }

    private void Deliver(LogitsFrame frame, long enqueued)
    {
        var verdict = _localHub.Deliver(frame);
        // Nothing was serialized for a frame that skipped the codec.
        _statistics.Record(frame.Values.IsEmpty && frame.LocalValues is not null ? 0 : frame.CalculateSize(), Stopwatch.GetElapsedTime(enqueued), verdict.Accepted);
        NoteVerdict(frame, verdict.Accepted, verdict.Code, verdict.HighestStep, verdict.Behind);
    }

    /// <summary>Gives a frame that skipped the codec its wire values before it goes on the network.</summary>
    private static void Encode(LogitsFrame frame)
    {
        if (frame.Values.IsEmpty && frame.LocalValues is { } values)
        {
            frame.Values = WireCodec.Encode(values, frame.Dtype);
        }
    }

    /// <summary>Keeps the earliest frame refused for now as the one to send again; forgets it once it was taken or is of no use.</summary>
    private void NoteVerdict(LogitsFrame frame, bool accepted, StatusCode code, long highest, bool behind)
    {
        var retry = Volatile.Read(ref _retry);
        if (accepted || behind)
        {
            // Taken, or the receiver is past it: an earlier frame is of no use any more.
            if (retry is not null && retry.Step <= frame.Step)
            {
                Interlocked.CompareExchange(ref _retry, null, retry);
            }
        }
        else if ((code == StatusCode.OutOfRange && frame.Step > highest) || code == StatusCode.Unavailable)
        {
            if (retry is null || frame.Step < retry.Step)
            {
                Interlocked.CompareExchange(ref _retry, frame, retry);
            }
        }
        else if (ReferenceEquals(retry, frame))
        {
            Interlocked.CompareExchange(ref _retry, null, retry);
        }
    }

    /// <summary>Streams frames to the receiver's worker while it stays at <paramref name="location"/>; true when the queue is done.</summary>
    private async Task<bool> StreamAsync(PeerLocation location)
    {
        var client = new PeerExchange.PeerExchangeClient(_channelFor(location.Address));
        using var call = client.Exchange(cancellationToken: _stop.Token);
        var sent = new System.Collections.Concurrent.ConcurrentQueue<(LogitsFrame Frame, long Timestamp, int Bytes)>();
        var resend = false;
        var acks = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
            {
                var ack = call.ResponseStream.Current;
                if (!sent.TryDequeue(out var s))
                {
                    continue;
                }

                _statistics.Record(s.Bytes, Stopwatch.GetElapsedTime(s.Timestamp), ack.Accepted);
                NoteVerdict(s.Frame, ack.Accepted, (StatusCode)ack.RefusedCode, ack.Step, ack.Stale);
                if (!ack.Accepted)
                {
                    var code = (StatusCode)ack.RefusedCode;
                    if (code == StatusCode.NotFound)
                    {
                        // The receiver is not hosted there (yet): come back with the latest frame shortly.
                        resend = true;
                    }

                    if (code is not (StatusCode.OutOfRange or StatusCode.Unavailable or StatusCode.AlreadyExists))
                    {
                        Log.RemoteRefused(_logger, _sender, _receiver, s.Frame.Step, code, ack.Reason);
                    }
                }
            }
        });

        try
        {
            // A new stream starts with the frame the receiver still needs, else the latest one, so
            // that it learns where this sender is.
            if ((Volatile.Read(ref _retry) ?? _last) is { } first)
            {
                Encode(first);
                sent.Enqueue((first, Stopwatch.GetTimestamp(), first.CalculateSize()));
                await call.RequestStream.WriteAsync(first, _stop.Token).ConfigureAwait(false);
            }

            while (!resend && await WaitForFrameAsync(location).ConfigureAwait(false))
            {
                if (_queue.Reader.TryRead(out var item))
                {
                    Encode(item.Frame);
                    sent.Enqueue((item.Frame, item.Enqueued, item.Frame.CalculateSize()));
                    await call.RequestStream.WriteAsync(item.Frame, _stop.Token).ConfigureAwait(false);
                    _last = item.Frame;
                }
                else if (Volatile.Read(ref _retry) is { } retry)
                {
                    Encode(retry);
                    sent.Enqueue((retry, Stopwatch.GetTimestamp(), retry.CalculateSize()));
                    await call.RequestStream.WriteAsync(retry, _stop.Token).ConfigureAwait(false);
                }
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            await acks.ConfigureAwait(false);
        }
        finally
        {
            if (!acks.IsCompleted)
            {
                call.Dispose();
                await acks.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }

        if (resend)
        {
            await Task.Delay(200, _stop.Token).ConfigureAwait(false);
            return false;
        }

        return _queue.Reader.Completion.IsCompleted;
    }

    /// <summary>Waits for a frame; false when the queue is done or the receiver moved (new address or generation).</summary>
    private async Task<bool> WaitForFrameAsync(PeerLocation location)
    {
        while (true)
        {
            var now = _directory.Find(_receiver);
            if (now is null || now.Address != location.Address || now.Generation != location.Generation || now.State != PeerPresence.Active)
            {
                return false;
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            tick.CancelAfter(TimeSpan.FromMilliseconds(250));
            try
            {
                return await _queue.Reader.WaitToReadAsync(tick.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                // Look at the directory again; send a refused frame again.
                if (Volatile.Read(ref _retry) is not null)
                {
                    return true;
                }
            }
        }
    }
}
