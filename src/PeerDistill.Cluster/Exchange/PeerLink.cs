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
/// bounded buffer that drops the oldest (a receiver that is gone needs none of them). A frame the
/// receiver refuses for now is held, with every later one, in a <see cref="FrameBacklog"/> and sent
/// again in step order, so that no frame the receiver will need is lost. When the receiver moves
/// (re-activated elsewhere, new generation) or the stream fails, the link reconnects and sends the
/// latest frame again, so the receiver learns where its teacher is.
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
    private readonly Func<string> _ticket;
    private readonly ILogger _logger;
    private readonly Channel<(LogitsFrame Frame, long Enqueued)> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly System.Diagnostics.TagList _tags;
    private readonly FrameBacklog _backlog;

    // The clock of the backlog's rechecks (and of nothing else: latencies are measured on the system's).
    private readonly TimeProvider _time;

    // Wakes the sending loop when a verdict makes the backlog's next frame due.
    private readonly SemaphoreSlim _due = new(0, 1);
    private LogitsFrame? _last;

    public PeerLink(string sender, string receiver, string localAddress, ExchangeHub localHub, CohortDirectory directory, Func<string, GrpcChannel> channelFor, Func<string> ticket, ILogger logger, TimeProvider time)
    {
        _time = time;
        _sender = sender;
        _receiver = receiver;
        _localAddress = localAddress;
        _localHub = localHub;
        _directory = directory;
        _channelFor = channelFor;
        _ticket = ticket;
        _tags = ExchangeTelemetry.LinkTags(localHub.Settings.Cohort, localHub.Settings.Run, sender, receiver);
        _logger = logger;
        var capacity = Math.Max(8, localHub.Settings.Window);
        _queue = Channel.CreateBounded<(LogitsFrame, long)>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        _backlog = new FrameBacklog(capacity, time);
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
        _due.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        PeerLocation? previous = null;
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

            if (previous is not null && previous.Generation != location.Generation)
            {
                // A new incarnation of the receiver: what the old one refused means nothing to it.
                _backlog.Clear();
            }

            previous = location;
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
            finally
            {
                // A frame sent on a stream that ended gets no verdict: it goes again on the next one.
                _backlog.Reset();
            }
        }
    }

    /// <summary>Hands frames to the hub of this worker while the receiver stays at <paramref name="location"/>; true when the queue is done.</summary>
    private async Task<bool> DeliverLocallyAsync(PeerLocation location)
    {
        if (_last is not null && _backlog.IsEmpty)
        {
            Deliver(_last, Stopwatch.GetTimestamp());
        }

        while (await WaitForFrameAsync(location).ConfigureAwait(false))
        {
            if (Next() is { } next)
            {
                Deliver(next.Frame, next.Enqueued);
            }
        }

        return _queue.Reader.Completion.IsCompleted && _backlog.IsEmpty;
    }

    /// <summary>
    /// The next frame to send: the backlog's first when it is due; else a queued frame, unless the
    /// backlog holds frames (it then joins them, to go out in order); null when nothing is to go now.
    /// </summary>
    private (LogitsFrame Frame, long Enqueued)? Next()
    {
        if (_backlog.TakeDue(_time.GetTimestamp()) is { } due)
        {
            return (due, Stopwatch.GetTimestamp());
        }

        while (_queue.Reader.TryRead(out var item))
        {
            _last = item.Frame;
            if (_backlog.IsEmpty)
            {
                return item;
            }

            _backlog.Hold(item.Frame);
        }

        return null;
    }

    private void Deliver(LogitsFrame frame, long enqueued)
    {
        var verdict = _localHub.Deliver(frame);
        Note(frame, verdict.Accepted, verdict.Code, verdict.HighestStep, verdict.Behind);
        // Nothing was serialized for a frame that skipped the codec.
        ExchangeTelemetry.Sent(_tags, frame.Values.IsEmpty && frame.LocalValues is not null ? 0 : frame.CalculateSize(), Stopwatch.GetElapsedTime(enqueued), verdict.Accepted ? StatusCode.OK : verdict.Code);
    }

    /// <summary>Gives a frame that skipped the codec its wire values before it goes on the network.</summary>
    private static void Encode(LogitsFrame frame)
    {
        if (frame.Values.IsEmpty && frame.LocalValues is { } values)
        {
            frame.Values = WireCodec.Encode(values, frame.Dtype);
        }
    }

    /// <summary>Passes a verdict to the backlog, and wakes the sending loop when that makes a held frame due.</summary>
    private void Note(LogitsFrame frame, bool accepted, StatusCode code, long highest, bool behind)
    {
        var held = !_backlog.IsEmpty;
        _backlog.Note(frame, accepted, code, highest, behind, _time.GetTimestamp());
        if (held && !_backlog.IsEmpty && _due.CurrentCount == 0)
        {
            try
            {
                _due.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Streams frames to the receiver's worker while it stays at <paramref name="location"/>; true when the queue is done.</summary>
    private async Task<bool> StreamAsync(PeerLocation location)
    {
        var client = new PeerExchange.PeerExchangeClient(_channelFor(location.Address));
        // Every stream carries the sender's current ticket (renewed ones on the streams opened after).
        var ticket = _ticket();
        using var call = client.Exchange(ticket.Length > 0 ? new Metadata { { ExchangeTicket.Header, ticket } } : null, cancellationToken: _stop.Token);
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

                // Counted once the backlog has acted on it.
                Note(s.Frame, ack.Accepted, (StatusCode)ack.RefusedCode, ack.Step, ack.Stale);
                ExchangeTelemetry.Sent(_tags, s.Bytes, Stopwatch.GetElapsedTime(s.Timestamp), ack.Accepted ? StatusCode.OK : (StatusCode)ack.RefusedCode);
                if (!ack.Accepted)
                {
                    var code = (StatusCode)ack.RefusedCode;
                    if (code == StatusCode.NotFound)
                    {
                        // The receiver is not hosted there (yet): come back with the frame it needs shortly.
                        resend = true;
                    }

                    if (code is not (StatusCode.OutOfRange or StatusCode.Unavailable or StatusCode.AlreadyExists or StatusCode.NotFound))
                    {
                        Log.RemoteRefused(_logger, _sender, _receiver, s.Frame.Step, code, ack.Reason);
                    }
                }
            }
        });

        try
        {
            // A new stream starts with the frame the receiver still needs (the backlog's first), else
            // the latest one, so that it learns where this sender is.
            if (_backlog.IsEmpty && _last is { } first)
            {
                await SendAsync(call, first, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            }

            while (!resend && await WaitForFrameAsync(location, ticket).ConfigureAwait(false))
            {
                if (Next() is { } next)
                {
                    await SendAsync(call, next.Frame, next.Enqueued).ConfigureAwait(false);
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

        return _queue.Reader.Completion.IsCompleted && _backlog.IsEmpty;

        async Task SendAsync(AsyncDuplexStreamingCall<LogitsFrame, ExchangeAck> stream, LogitsFrame frame, long enqueued)
        {
            Encode(frame);
            sent.Enqueue((frame, enqueued, frame.CalculateSize()));
            await stream.RequestStream.WriteAsync(frame, _stop.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for a frame to send (a queued one, or the backlog's first falling due); false when the
    /// queue is done and nothing is held, the receiver moved (new address or generation), or the
    /// sender's ticket was renewed since <paramref name="ticket"/> opened the stream (the stream ends
    /// cleanly, every frame on it answered, and the next opens with the new ticket, long before the
    /// receiver would end the old one at its expiry and lose the frame in flight).
    /// </summary>
    private async Task<bool> WaitForFrameAsync(PeerLocation location, string? ticket = null)
    {
        while (true)
        {
            var now = _directory.Find(_receiver);
            if (now is null || now.Address != location.Address || now.Generation != location.Generation || now.State != PeerPresence.Active)
            {
                return false;
            }

            if (ticket is not null && !string.Equals(_ticket(), ticket, StringComparison.Ordinal))
            {
                return false;
            }

            // Wake when the first held frame falls due, and at least every recheck interval to look
            // at the directory again.
            var dueIn = _backlog.DueIn(_time.GetTimestamp());
            if (dueIn == TimeSpan.Zero)
            {
                return true;
            }

            var delay = dueIn is { } d && d < FrameBacklog.RecheckInterval ? d : FrameBacklog.RecheckInterval;
            using var recheck = new CancellationTokenSource(delay, _time);
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, recheck.Token);
            var queued = _queue.Reader.WaitToReadAsync(tick.Token).AsTask();
            var woken = _due.WaitAsync(tick.Token);
            await Task.WhenAny(queued, woken).ConfigureAwait(false);

            // End the other wait before leaving: a wait left pending on the semaphore would take the
            // next wake-up (a verdict that makes a held frame due), and this loop would then send
            // that frame only at its next recheck, one frame per recheck.
            await tick.CancelAsync().ConfigureAwait(false);
            var open = await OutcomeAsync(queued).ConfigureAwait(false);
            var wake = await OutcomeAsync(woken).ConfigureAwait(false);
            _stop.Token.ThrowIfCancellationRequested();
            if (wake == true)
            {
                return true;
            }

            if (open == false)
            {
                // The queue is done: what is held still goes out.
                if (_backlog.IsEmpty)
                {
                    return false;
                }

                await Task.Delay(delay, _time, _stop.Token).ConfigureAwait(false);
                continue;
            }

            if (open == true && (_backlog.IsEmpty || _queue.Reader.Count > 0))
            {
                return true;
            }

            // Else the recheck fell due: look at the directory again; send a held frame that fell due.
        }
    }

    /// <summary>What a wait came to: its result, or null when it was cancelled.</summary>
    private static async Task<bool?> OutcomeAsync(Task wait)
    {
        try
        {
            await wait.ConfigureAwait(false);
            return wait is not Task<bool> result || result.Result;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
