using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace PeerDistill.Rpc.Internal;

/// <summary>
/// One client call as an HTTP/2 request: sends the framed requests, reads framed responses, turns
/// the trailers (or a trailers-only response, or an HTTP failure) into the call's status, and
/// enforces the deadline locally as well as sending it as <c>grpc-timeout</c>.
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : ICallState, IAsyncStreamReader<TResponse>
{
    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cancellation;
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _header = new byte[GrpcProtocol.HeaderSize];
    private readonly object _gate = new();
    private readonly ICompressionProvider? _requestCompression;
    private Timer? _deadlineTimer;
    private CancellationTokenRegistration _cancellationRegistration;
    private int _deadlineExceeded;
    private Task<bool>? _ready;
    private HttpResponseMessage? _response;
    private Stream? _responseStream;
    private ICompressionProvider? _responseDecompression;
    private StreamingContent? _streamingContent;
    private Status? _status;
    private Metadata? _trailers;
    private bool _readPending;
    private TResponse? _current;

    public ClientCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        var encoding = options.RequestCompression ?? channel.Options.RequestCompression;
        if (encoding is not null && encoding != GrpcProtocol.IdentityEncoding)
        {
            _requestCompression = channel.Options.CompressionProviders.FirstOrDefault(p => p.EncodingName == encoding)
                ?? throw new ArgumentException($"request compression '{encoding}' is not one of the channel's encodings ({string.Join(", ", channel.Options.CompressionProviders.Select(p => p.EncodingName))})", nameof(options));
        }

        RequestWriter = new ClientStreamWriter(this);

        // Cancelling the token ends the call at once and resets its HTTP/2 stream, whether or not a
        // read or write is pending (otherwise the server would not hear of it until one is).
        if (options.CancellationToken.CanBeCanceled)
        {
            _cancellationRegistration = options.CancellationToken.UnsafeRegister(
                static s => ((ClientCall<TRequest, TResponse>)s!).Finish(new Status(StatusCode.Cancelled, "Call canceled by the client."), new Metadata(), cancel: true),
                this);
        }
    }

    public IClientStreamWriter<TRequest> RequestWriter { get; }

    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    public TResponse Current => _current!;

    /// <summary>Starts a call with one request (unary, server streaming).</summary>
    public void Start(TRequest request)
    {
        byte[] framed;
        try
        {
            framed = Frame(request);
        }
        catch (RpcException e)
        {
            Finish(e.Status, new Metadata());
            _ready = Task.FromResult(false);
            return;
        }

        StartCore(new SingleMessageContent(framed));
    }

    /// <summary>Starts a call whose requests are written by <see cref="RequestWriter"/>.</summary>
    public void StartStreaming()
    {
        _streamingContent = new StreamingContent();
        StartCore(_streamingContent);
    }

    public Status GetStatus()
    {
        lock (_gate)
        {
            return _status ?? throw new InvalidOperationException("the call is still in progress: the status is known once the call is complete");
        }
    }

    public Metadata GetTrailers()
    {
        lock (_gate)
        {
            return _trailers ?? throw new InvalidOperationException("the call is still in progress: trailers are known once the call is complete");
        }
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (_readPending)
        {
            throw new InvalidOperationException("a read is already pending on this response stream");
        }

        _readPending = true;
        try
        {
            if (!await _ready!.ConfigureAwait(false))
            {
                return ThrowIfFailed();
            }

            lock (_gate)
            {
                if (_status is not null)
                {
                    return ThrowIfFailed();
                }
            }

            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token) : null;
            byte[]? payload;
            try
            {
                payload = await MessageFraming.ReadAsync(_responseStream!, _channel.Options.MaxReceiveMessageSize, _responseDecompression, _header, linked?.Token ?? _cancellation.Token).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                // A protocol violation or an oversize message: the call is over, the stream is reset.
                Finish(e.Status, new Metadata(), cancel: true);
                throw new RpcException(e.Status);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
            {
                if (cancellationToken.IsCancellationRequested && !_cancellation.IsCancellationRequested)
                {
                    // Only this read was cancelled, as asked: the call goes on... but a partly read
                    // message cannot be resumed, so the call is cancelled too.
                    Finish(new Status(StatusCode.Cancelled, "Reading the response stream was cancelled."), new Metadata(), cancel: true);
                }
                else
                {
                    Finish(StatusFromException(e), new Metadata(), cancel: true);
                }

                return ThrowIfFailed();
            }

            if (payload is null)
            {
                FinishFromTrailers();
                return ThrowIfFailed();
            }

            try
            {
                _current = _method.ResponseMarshaller.Deserializer(payload);
            }
            catch (Exception e)
            {
                Finish(new Status(StatusCode.Internal, $"Failed to deserialize the response message ({payload.Length} bytes): {e.Message}", e), new Metadata(), cancel: true);
                return ThrowIfFailed();
            }

            return true;
        }
        finally
        {
            _readPending = false;
        }
    }

    /// <summary>The single response of a unary or client-streaming call.</summary>
    public async Task<TResponse> ReadSingleResponseAsync()
    {
        if (!await MoveNext(CancellationToken.None).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize response message: the server sent no message with status OK."), GetTrailers());
        }

        var response = _current!;
        if (await MoveNext(CancellationToken.None).ConfigureAwait(false))
        {
            Finish(new Status(StatusCode.Internal, $"The server sent more than one response message for {_method.Type} method '{_method.FullName}'."), new Metadata(), cancel: true);
            ThrowIfFailed();
        }

        return response;
    }

    public void Dispose()
    {
        _cancellationRegistration.Dispose();
        Finish(new Status(StatusCode.Cancelled, "Call disposed before it completed."), new Metadata(), cancel: true);
        _deadlineTimer?.Dispose();
        _response?.Dispose();
        _cancellation.Dispose();
    }

    private void StartCore(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        var headers = request.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, AcceptEncoding());
        if (_requestCompression is not null)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, _requestCompression.EncodingName);
        }

        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                if (GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    throw new ArgumentException($"'{entry.Key}' is a reserved header and cannot be sent as metadata", nameof(_options));
                }

                headers.TryAddWithoutValidation(entry.Key, GrpcProtocol.WireValue(entry));
            }
        }

        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                Interlocked.Exchange(ref _deadlineExceeded, 1);
                Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), new Metadata());
                request.Dispose();
                _ready = Task.FromResult(false);
                return;
            }

            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(remaining));
            _deadlineTimer = new Timer(static s => ((ClientCall<TRequest, TResponse>)s!).OnDeadline(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _deadlineTimer.Change(remaining > TimeSpan.FromDays(24) ? TimeSpan.FromDays(24) : remaining, Timeout.InfiniteTimeSpan);
        }

        var send = _channel.Invoker.SendAsync(request, _cancellation.Token);
        _ready = ReceiveHeadersAsync(send);
    }

    /// <summary>Waits for the response headers; false when the call ended there (failure or trailers-only).</summary>
    private async Task<bool> ReceiveHeadersAsync(Task<HttpResponseMessage> send)
    {
        HttpResponseMessage response;
        try
        {
            response = await send.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException or RpcException)
        {
            Finish(StatusFromException(e), new Metadata(), cancel: true);
            return false;
        }

        _response = response;
        lock (_gate)
        {
            if (_status is not null)
            {
                // The call was cancelled (or its deadline passed) while the headers were on their way.
                response.Dispose();
                return false;
            }
        }

        var metadata = ReadMetadata(response.Headers);
        var grpcStatus = FirstHeader(response.Headers, GrpcProtocol.StatusHeader);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = grpcStatus is not null && int.TryParse(grpcStatus, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed != 0
                ? (StatusCode)parsed
                : GrpcProtocol.FromHttpStatus(response.StatusCode);
            var message = GrpcProtocol.DecodeMessage(FirstHeader(response.Headers, GrpcProtocol.MessageHeader));
            _headers.TrySetResult(metadata);
            Finish(new Status(code, $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}{(message.Length > 0 ? ". " + message : string.Empty)}"), metadata, cancel: true);
            return false;
        }

        var contentType = response.Content.Headers.ContentType?.ToString();
        if (grpcStatus is null && !GrpcProtocol.IsGrpcContentType(contentType))
        {
            _headers.TrySetResult(metadata);
            Finish(new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType ?? "(none)"}"), metadata, cancel: true);
            return false;
        }

        _headers.TrySetResult(metadata);
        if (grpcStatus is not null)
        {
            // Trailers-only: the status came in the headers and nothing else will come.
            Finish(ParseStatus(grpcStatus, FirstHeader(response.Headers, GrpcProtocol.MessageHeader)), metadata);
            return false;
        }

        var encoding = FirstHeader(response.Headers, GrpcProtocol.EncodingHeader);
        if (encoding is not null && encoding != GrpcProtocol.IdentityEncoding)
        {
            _responseDecompression = _channel.Options.CompressionProviders.FirstOrDefault(p => p.EncodingName == encoding);
            if (_responseDecompression is null)
            {
                Finish(new Status(StatusCode.Internal, $"The server compresses responses with '{encoding}', which this channel does not support."), metadata, cancel: true);
                return false;
            }
        }

        try
        {
            _responseStream = await response.Content.ReadAsStreamAsync(_cancellation.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            Finish(StatusFromException(e), new Metadata(), cancel: true);
            return false;
        }

        return true;
    }

    private void FinishFromTrailers()
    {
        var trailers = _response!.TrailingHeaders;
        var grpcStatus = FirstHeader(trailers, GrpcProtocol.StatusHeader);
        var metadata = ReadMetadata(trailers);
        Finish(grpcStatus is null
            ? new Status(StatusCode.Internal, "No grpc-status found on response.")
            : ParseStatus(grpcStatus, FirstHeader(trailers, GrpcProtocol.MessageHeader)), metadata);
    }

    private static Status ParseStatus(string value, string? message)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Unexpected grpc-status value '{value}'.");
        }

        return new Status((StatusCode)code, GrpcProtocol.DecodeMessage(message));
    }

    /// <summary>Ends the call with <paramref name="status"/> unless it already ended; <paramref name="cancel"/> resets the HTTP/2 stream.</summary>
    private void Finish(Status status, Metadata trailers, bool cancel = false)
    {
        lock (_gate)
        {
            if (_status is not null)
            {
                return;
            }

            _status = status;
            _trailers = trailers;
        }

        _deadlineTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _headers.TrySetResult(new Metadata());
        if (cancel)
        {
            // The request body fails rather than ends, and the response is dropped: either way the
            // HTTP/2 stream is reset (RST_STREAM CANCEL), so the server sees the call cancelled
            // instead of a clean half-close that its handler would take for the end of the requests.
            _streamingContent?.Abort(new RpcException(status, trailers));
            try
            {
                _cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            _response?.Dispose();
        }
        else
        {
            _streamingContent?.End(new RpcException(status, trailers));
        }
    }

    /// <summary>False when the call completed with OK; throws its status otherwise.</summary>
    private bool ThrowIfFailed()
    {
        Status status;
        Metadata trailers;
        lock (_gate)
        {
            status = _status!.Value;
            trailers = _trailers!;
        }

        if (status.StatusCode != StatusCode.OK)
        {
            throw new RpcException(status, trailers);
        }

        return false;
    }

    private Status StatusFromException(Exception e)
    {
        if (Volatile.Read(ref _deadlineExceeded) == 1)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded", e);
        }

        if (_options.CancellationToken.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.", e);
        }

        return e switch
        {
            HttpProtocolException { ErrorCode: 0x8 } => new Status(StatusCode.Cancelled, "The server cancelled the call (RST_STREAM CANCEL).", e),
            HttpProtocolException { ErrorCode: 0x7 } => new Status(StatusCode.Unavailable, "The server refused the stream (RST_STREAM REFUSED_STREAM).", e),
            HttpProtocolException { ErrorCode: 0xB } => new Status(StatusCode.ResourceExhausted, "The server reset the stream (ENHANCE_YOUR_CALM).", e),
            HttpProtocolException p => new Status(StatusCode.Internal, $"HTTP/2 error {p.ErrorCode}: {p.Message}", e),
            HttpRequestException or IOException => new Status(StatusCode.Unavailable, $"Error talking to {_channel.Address}: {e.Message}", e),
            OperationCanceledException or ObjectDisposedException => new Status(StatusCode.Cancelled, "Call canceled.", e),
            _ => new Status(StatusCode.Unknown, e.Message, e),
        };
    }

    private void OnDeadline()
    {
        Interlocked.Exchange(ref _deadlineExceeded, 1);
        Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), new Metadata(), cancel: true);
    }

    private byte[] Frame(TRequest message)
    {
        byte[] payload;
        try
        {
            payload = _method.RequestMarshaller.Serializer(message);
        }
        catch (Exception e)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to serialize the request message: " + e.Message, e));
        }

        if (_channel.Options.MaxSendMessageSize is { } limit && payload.Length > limit)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({payload.Length} vs. {limit}).");
        }

        return MessageFraming.Frame(payload, _requestCompression);
    }

    private string AcceptEncoding() => GrpcProtocol.AcceptEncoding(_channel.Options.CompressionProviders);

    private static string? FirstHeader(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static Metadata ReadMetadata(HttpHeaders headers) =>
        GrpcProtocol.ReadMetadata(headers.NonValidated.Select(h => (h.Key, (IEnumerable<string?>)h.Value)));

    /// <summary>Writes the request stream of a streaming call.</summary>
    private sealed class ClientStreamWriter(ClientCall<TRequest, TResponse> call) : IClientStreamWriter<TRequest>
    {
        private int _writing;
        private bool _completed;

        public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
        {
            if (call._streamingContent is null)
            {
                throw new InvalidOperationException($"method '{call._method.FullName}' has no request stream");
            }

            if (_completed)
            {
                throw new InvalidOperationException("the request stream was completed; no more messages can be written");
            }

            if (Interlocked.Exchange(ref _writing, 1) == 1)
            {
                throw new InvalidOperationException("a write is already pending on this request stream; await it before writing again");
            }

            try
            {
                ThrowIfCallOver();
                var framed = call.Frame(message);
                using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call._cancellation.Token) : null;
                var token = linked?.Token ?? call._cancellation.Token;
                try
                {
                    var stream = await call._streamingContent.StreamAsync.WaitAsync(token).ConfigureAwait(false);
                    await stream.WriteAsync(framed, token).ConfigureAwait(false);
                    await stream.FlushAsync(token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or RpcException or HttpRequestException)
                {
                    if (cancellationToken.IsCancellationRequested && !call._cancellation.IsCancellationRequested)
                    {
                        call.Finish(new Status(StatusCode.Cancelled, "Writing the request stream was cancelled."), new Metadata(), cancel: true);
                    }
                    else if (!call._cancellation.IsCancellationRequested)
                    {
                        // The server may have ended the call (a refusal, a limit) and reset our
                        // request stream: its status, not the reset, is the call's outcome. A
                        // trailers-only answer is in the headers; give them a moment to arrive.
                        var ready = call._ready!;
                        if (await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false) == ready && ready.Result)
                        {
                            // The response is streaming: the reader sees the server's status in the trailers.
                            ThrowIfCallOver();
                            throw new RpcException(call.StatusFromException(e));
                        }

                        call.Finish(call.StatusFromException(e), new Metadata(), cancel: true);
                    }
                    else
                    {
                        call.Finish(call.StatusFromException(e), new Metadata(), cancel: true);
                    }

                    ThrowIfCallOver();
                    throw;
                }
            }
            finally
            {
                Volatile.Write(ref _writing, 0);
            }
        }

        public Task CompleteAsync()
        {
            _completed = true;
            call._streamingContent?.Complete();
            return Task.CompletedTask;
        }

        private void ThrowIfCallOver()
        {
            Status? status;
            Metadata? trailers;
            lock (call._gate)
            {
                status = call._status;
                trailers = call._trailers;
            }

            if (status is { } s)
            {
                throw s.StatusCode == StatusCode.OK
                    ? new InvalidOperationException("the call is complete; no more requests can be written")
                    : new RpcException(s, trailers ?? new Metadata());
            }
        }
    }
}
