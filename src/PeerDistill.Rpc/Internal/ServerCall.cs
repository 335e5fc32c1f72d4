using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Rpc.Internal;

/// <summary>
/// One call on the server: reads and writes framed messages on the HTTP/2 stream, enforces the
/// deadline and the message limits, and ends the call with its status in the trailers (or a
/// trailers-only response when nothing was sent yet). Writes and the end of the call are
/// serialized by one lock, so the deadline timer can end the call while the handler still runs.
/// </summary>
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, IDisposable
{
    private readonly HttpContext _http;
    private readonly Method<TRequest, TResponse> _method;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _cancellation;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _header = new byte[GrpcProtocol.HeaderSize];
    private readonly DateTime _deadline = DateTime.MaxValue;
    private readonly Timer? _deadlineTimer;
    private ICompressionProvider? _requestCompression;
    private ICompressionProvider? _responseCompression;
    private Metadata? _requestHeaders;
    private Dictionary<object, object>? _userState;
    private bool _headersWritten;
    private bool _completed;
    private bool _messageBuffered;
    private bool _readPending;
    private bool _requestEnded;
    private int _deadlineFired;
    private Task? _deadlineCompletion;

    public ServerCall(HttpContext http, Method<TRequest, TResponse> method, GrpcServerOptions options, ILogger logger)
    {
        _http = http;
        _method = method;
        _options = options;
        _logger = logger;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        if (http.Request.Headers.TryGetValue(GrpcProtocol.TimeoutHeader, out var timeoutValue))
        {
            if (GrpcProtocol.TryParseTimeout(timeoutValue.ToString(), out var timeout))
            {
                _deadline = timeout >= DateTime.MaxValue - DateTime.UtcNow ? DateTime.MaxValue : DateTime.UtcNow + timeout;
                if (_deadline != DateTime.MaxValue)
                {
                    var due = timeout > TimeSpan.FromDays(24) ? TimeSpan.FromDays(24) : timeout;
                    _deadlineTimer = new Timer(static s => ((ServerCall<TRequest, TResponse>)s!).OnDeadline(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    _deadlineTimer.Change(due, Timeout.InfiniteTimeSpan);
                }
            }
            else
            {
                Log.InvalidTimeout(_logger, timeoutValue.ToString(), method.FullName);
            }
        }
    }

    public override string Method => _method.FullName;

    public override string Host => _http.Request.Host.Value ?? string.Empty;

    public override string Peer
    {
        get
        {
            var c = _http.Connection;
            if (c.RemoteIpAddress is null)
            {
                return "unknown";
            }

            var family = c.RemoteIpAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4";
            return family == "ipv6"
                ? $"ipv6:[{c.RemoteIpAddress}]:{c.RemotePort.ToString(CultureInfo.InvariantCulture)}"
                : $"ipv4:{c.RemoteIpAddress}:{c.RemotePort.ToString(CultureInfo.InvariantCulture)}";
        }
    }

    public override DateTime Deadline => _deadline;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders();

    public override CancellationToken CancellationToken => _cancellation.Token;

    public override Metadata ResponseTrailers { get; } = new();

    public override Status Status { get; set; } = Status.DefaultSuccess;

    public override IDictionary<object, object> UserState => _userState ??= [];

    TRequest IAsyncStreamReader<TRequest>.Current => _current!;

    private TRequest? _current;

    public override HttpContext GetHttpContext() => _http;

    /// <summary>Checks the request's encoding and chooses the response's; false when the call was refused (status written).</summary>
    public async Task<bool> InitializeAsync()
    {
        // A stream lives as long as the call: Kestrel's body size and rate limits are for requests.
        if (_http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (_http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        var encoding = _http.Request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && encoding != GrpcProtocol.IdentityEncoding)
        {
            _requestCompression = _options.CompressionProviders.FirstOrDefault(p => p.EncodingName == encoding);
            if (_requestCompression is null)
            {
                _http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = AcceptEncoding();
                await CompleteAsync(new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {AcceptEncoding()}")).ConfigureAwait(false);
                return false;
            }
        }

        if (_options.ResponseCompressionAlgorithm is { } wanted && wanted != GrpcProtocol.IdentityEncoding)
        {
            var accepted = _http.Request.Headers[GrpcProtocol.AcceptEncodingHeader].ToString()
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (accepted.Contains(wanted))
            {
                _responseCompression = _options.CompressionProviders.FirstOrDefault(p => p.EncodingName == wanted);
            }
        }

        return true;
    }

    /// <summary>Runs <paramref name="invoke"/> (the handler behind the interceptors) and ends the call with its outcome.</summary>
    public async Task RunAsync(Func<ServerCall<TRequest, TResponse>, Task> invoke)
    {
        Status status;
        try
        {
            await invoke(this).ConfigureAwait(false);
            status = Status;
        }
        catch (RpcException e)
        {
            status = e.Status;
            foreach (var entry in e.Trailers)
            {
                ResponseTrailers.Add(entry);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && _cancellation.IsCancellationRequested)
        {
            status = Volatile.Read(ref _deadlineFired) == 1
                ? new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")
                : new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, _method.FullName, e);
            status = new Status(StatusCode.Unknown, _options.EnableDetailedErrors ? $"Exception was thrown by handler. {e.GetType().Name}: {e.Message}" : "Exception was thrown by handler.");
        }

        await CompleteAsync(status).ConfigureAwait(false);
        if (_deadlineTimer is not null)
        {
            // Waits for a deadline callback in flight, then for the completion it started.
            await _deadlineTimer.DisposeAsync().ConfigureAwait(false);
            if (Volatile.Read(ref _deadlineCompletion) is { } completion)
            {
                await completion.ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads the one request of a unary or server-streaming call.</summary>
    public async Task<TRequest> ReadSingleAsync()
    {
        IAsyncStreamReader<TRequest> reader = this;
        if (!await reader.MoveNext(CancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(StatusCode.Internal, "Request did not include a message.");
        }

        var request = reader.Current;
        if (await reader.MoveNext(CancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(StatusCode.Internal, $"Additional data after the request message of unary method '{_method.FullName}'.");
        }

        return request;
    }

    async Task<bool> IAsyncStreamReader<TRequest>.MoveNext(CancellationToken cancellationToken)
    {
        if (_requestEnded)
        {
            return false;
        }

        if (_readPending)
        {
            throw new InvalidOperationException("a read is already pending on this request stream");
        }

        _readPending = true;
        try
        {
            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token) : null;
            byte[]? payload;
            try
            {
                payload = await MessageFraming.ReadAsync(_http.Request.Body, _options.MaxReceiveMessageSize, _requestCompression, _header, linked?.Token ?? _cancellation.Token).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!_cancellation.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Internal, "The request stream failed: " + e.Message, e));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException && !_cancellation.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The request stream broke under the call: the client reset it or the connection
                // dropped. Kestrel fails the read before it signals RequestAborted (on another thread),
                // so without this the handler would see an error while its token never fires. The call
                // is over: cancel it now, and let the failure end it as Cancelled.
                try
                {
                    _cancellation.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }

                throw;
            }

            if (payload is null)
            {
                _requestEnded = true;
                return false;
            }

            try
            {
                _current = _method.RequestMarshaller.Deserializer(payload);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Failed to deserialize the request message ({payload.Length} bytes): {e.Message}", e));
            }

            return true;
        }
        finally
        {
            _readPending = false;
        }
    }

    public async Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
    {
        byte[] payload;
        try
        {
            payload = _method.ResponseMarshaller.Serializer(message);
        }
        catch (Exception e)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to serialize the response message: " + e.Message, e));
        }

        if (_options.MaxSendMessageSize is { } limit && payload.Length > limit)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({payload.Length} vs. {limit}).");
        }

        var framed = MessageFraming.Frame(payload, _responseCompression);
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token) : null;
        var token = linked?.Token ?? _cancellation.Token;
        await _writeLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                throw new InvalidOperationException($"the call '{_method.FullName}' is complete; no more messages can be written");
            }

            EnsureResponseHeaders();
            if (_method.Type is MethodType.Unary or MethodType.ClientStreaming)
            {
                // The one response: leave it buffered, so that headers, message and trailers leave
                // in one write when the call completes.
                _http.Response.BodyWriter.Write(framed);
                _messageBuffered = true;
            }
            else
            {
                await _http.Response.BodyWriter.WriteAsync(framed, token).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        await _writeLock.WaitAsync(CancellationToken).ConfigureAwait(false);
        try
        {
            if (_headersWritten || _http.Response.HasStarted)
            {
                throw new InvalidOperationException("response headers can only be sent once per call");
            }

            foreach (var entry in responseHeaders)
            {
                if (GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    throw new InvalidOperationException($"'{entry.Key}' is a reserved header and cannot be sent as metadata");
                }

                _http.Response.Headers.Append(entry.Key, GrpcProtocol.WireValue(entry));
            }

            EnsureResponseHeaders();
            await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _deadlineTimer?.Dispose();
        _cancellation.Dispose();
        _writeLock.Dispose();
    }

    private void EnsureResponseHeaders()
    {
        if (_headersWritten)
        {
            return;
        }

        _headersWritten = true;
        var response = _http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = AcceptEncoding();
        if (_responseCompression is not null)
        {
            response.Headers[GrpcProtocol.EncodingHeader] = _responseCompression.EncodingName;
        }
    }

    /// <summary>Ends the call with <paramref name="status"/>, once: in trailers, or trailers-only if nothing was sent.</summary>
    private async Task CompleteAsync(Status status)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (_http.RequestAborted.IsCancellationRequested)
            {
                // The client is gone (reset or disconnect): nothing can reach it.
                return;
            }

            var response = _http.Response;
            if (!response.HasStarted && !_messageBuffered)
            {
                // Trailers-only: the status travels in the one HEADERS frame, which ends the stream.
                EnsureResponseHeaders();
                response.Headers[GrpcProtocol.StatusHeader] = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
                if (!string.IsNullOrEmpty(status.Detail))
                {
                    response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(status.Detail);
                }

                foreach (var entry in ResponseTrailers)
                {
                    AppendMetadata(response.Headers, entry);
                }
            }
            else
            {
                response.AppendTrailer(GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture));
                if (!string.IsNullOrEmpty(status.Detail))
                {
                    response.AppendTrailer(GrpcProtocol.MessageHeader, GrpcProtocol.EncodeMessage(status.Detail));
                }

                foreach (var entry in ResponseTrailers)
                {
                    if (!GrpcProtocol.IsReservedHeader(entry.Key))
                    {
                        response.AppendTrailer(entry.Key, GrpcProtocol.WireValue(entry));
                    }
                }
            }

            await response.CompleteAsync().ConfigureAwait(false);
            if (!_requestEnded && status.StatusCode != StatusCode.OK)
            {
                // The client may still be sending: stop its request stream (RST_STREAM NO_ERROR after the
                // trailers, as grpc servers do) instead of leaving it to fill the window.
                _http.Features.Get<IHttpResetFeature>()?.Reset(0);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
        {
            Log.CompleteFailed(_logger, _method.FullName, e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void OnDeadline()
    {
        if (Interlocked.Exchange(ref _deadlineFired, 1) == 1)
        {
            return;
        }

        // Cancel first so that a write blocked by flow control gives the lock up, then end the call.
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        Log.DeadlineExceeded(_logger, _method.FullName);
        Volatile.Write(ref _deadlineCompletion, CompleteAsync(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")));
    }

    private Metadata ReadRequestHeaders() =>
        GrpcProtocol.ReadMetadata(_http.Request.Headers.Select(h => (h.Key, (IEnumerable<string?>)h.Value)), key => Log.BadMetadata(_logger, key, _method.FullName));

    private static void AppendMetadata(IHeaderDictionary headers, Metadata.Entry entry)
    {
        if (!GrpcProtocol.IsReservedHeader(entry.Key))
        {
            headers.Append(entry.Key, GrpcProtocol.WireValue(entry));
        }
    }

    private string AcceptEncoding() => GrpcProtocol.AcceptEncoding(_options.CompressionProviders);
}
