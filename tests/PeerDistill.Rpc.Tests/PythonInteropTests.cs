using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.Testing.V1;
using PeerDistill.Rpc.Tests.Support;
using PeerDistill.Rpc.V1;
using Xunit;

namespace PeerDistill.Rpc.Tests;

/// <summary>
/// The python reference client (interop/interop_client.py, python3-grpcio) against our server on real
/// Kestrel (127.0.0.1, port 0): every case of the client must pass.
/// </summary>
public sealed class PythonInteropClientTests
{
    public static TheoryData<string> Cases => new()
    {
        "unary", "bidi", "server_stream", "client_stream", "error_status", "deadline", "metadata", "oversize", "exchange",
    };

    [PythonGrpcTheory]
    [MemberData(nameof(Cases))]
    public async Task PythonClient_PassesCase_AgainstOurServer(string caseName)
    {
        await using var server = await TestServer.StartAsync();
        var result = await PythonGrpc.RunClientAsync($"127.0.0.1:{server.Port}", caseName);
        Assert.True(result.Passed, result.Describe());
        if (caseName == "exchange")
        {
            // Our reference receiver refuses a malformed frame in-stream (ExchangeAck.accepted = false,
            // refused_code 3) and keeps the stream open, rather than ending it with INVALID_ARGUMENT.
            Assert.True(result.Detail?.Contains("refused in-stream: code 3", StringComparison.Ordinal) == true, "expected an in-stream refusal; " + result.Describe());
        }
    }

    [PythonGrpcFact]
    public async Task PythonGzipClient_OurServerDecompressesRequests()
    {
        var recorder = new EncodingRecorder();
        await using var server = await TestServer.StartAsync(o => o.Interceptors.Add(recorder));
        var result = await PythonGrpc.RunClientAsync($"127.0.0.1:{server.Port}", "gzip", null, "--compression", "gzip");
        Assert.True(result.Passed, result.Describe());
        var calls = recorder.Calls.ToArray();
        Assert.Equal(3, calls.Length);
        Assert.All(calls, c => Assert.Equal("gzip", c.RequestEncoding));
        // Without ResponseCompressionAlgorithm our server answers uncompressed.
        Assert.All(calls, c => Assert.Equal(string.Empty, c.ResponseEncoding));
    }

    [PythonGrpcFact]
    public async Task PythonGzipClient_OurServerCompressesResponses()
    {
        var recorder = new EncodingRecorder();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.ResponseCompressionAlgorithm = "gzip";
            o.Interceptors.Add(recorder);
        });
        var result = await PythonGrpc.RunClientAsync($"127.0.0.1:{server.Port}", "gzip", null, "--compression", "gzip");
        Assert.True(result.Passed, result.Describe());
        var calls = recorder.Calls.ToArray();
        Assert.Equal(3, calls.Length);
        Assert.All(calls, c => Assert.Contains("gzip", c.AcceptEncoding.Split(',', StringSplitOptions.TrimEntries)));
        Assert.All(calls, c => Assert.Equal("gzip", c.RequestEncoding));
        Assert.All(calls, c => Assert.Equal("gzip", c.ResponseEncoding));
    }

    /// <summary>Records the message encodings of every call: the request's, the accepted ones and the response's as sent.</summary>
    private sealed class EncodingRecorder : Interceptor
    {
        public ConcurrentQueue<(string Method, string RequestEncoding, string AcceptEncoding, string ResponseEncoding)> Calls { get; } = new();

        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(request, context);
        }

        public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(requestStream, context);
        }

        public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(request, responseStream, context);
        }

        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(requestStream, responseStream, context);
        }

        private void Record(ServerCallContext context)
        {
            var http = context.GetHttpContext();
            var method = context.Method;
            var requestEncoding = http.Request.Headers["grpc-encoding"].ToString();
            var acceptEncoding = http.Request.Headers["grpc-accept-encoding"].ToString();
            // Runs just before the response headers go out: they then hold the response's grpc-encoding.
            http.Response.OnStarting(() =>
            {
                Calls.Enqueue((method, requestEncoding, acceptEncoding, http.Response.Headers["grpc-encoding"].ToString()));
                return Task.CompletedTask;
            });
        }
    }
}

/// <summary>One interop_server.py (python3-grpcio) shared by the tests of a class.</summary>
public sealed class PythonInteropServerFixture : IAsyncLifetime
{
    private PythonInteropServer? _server;

    internal PythonInteropServer Server => _server ?? throw new InvalidOperationException("interop_server.py is not running: " + (PythonGrpc.WhyUnavailable ?? "it failed to start"));

    public async Task InitializeAsync()
    {
        if (PythonGrpc.WhyUnavailable is null)
        {
            _server = await PythonGrpc.StartServerAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Our client against the python reference server (interop/interop_server.py, python3-grpcio): the
/// cases of interop_client.py, written with our client. One server for the class, a channel per test.
/// </summary>
public sealed class PythonInteropServerTests(PythonInteropServerFixture fixture) : IClassFixture<PythonInteropServerFixture>
{
    private const string ErrorMessage = "peer 'a' is at step 7 — not ready ✓";
    private const int MiB = 1024 * 1024;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private static CallOptions Options(Metadata? headers = null, string? compression = null) =>
        new CallOptions(headers, RequestCompression: compression).WithTimeout(CallTimeout);

    /// <summary>The same deterministic payloads as interop_client.py's pattern().</summary>
    private static ByteString Pattern(int size, int seed = 0)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)((i * 31 + seed) & 0xFF);
        }

        return ByteString.CopyFrom(bytes);
    }

    private static ByteString Filled(int size) => ByteString.CopyFrom(Enumerable.Repeat((byte)0x5A, size).ToArray());

    private GrpcChannel Channel(GrpcChannelOptions? options = null) => GrpcChannel.ForAddress(fixture.Server.Address, options);

    private string ServerLog => "interop_server.py stderr: " + fixture.Server.Stderr;

    [PythonGrpcFact]
    public async Task Unary_EchoesAndSizesReplies()
    {
        using var channel = Channel();
        var payload = Pattern(1000);
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { Payload = payload });
        Assert.Equal(payload, reply.Payload);
        Assert.Equal(0, reply.Sequence);
        var sized = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { Payload = payload, ReplySize = 5000 });
        Assert.Equal(Filled(5000), sized.Payload);
    }

    [PythonGrpcFact]
    public async Task Bidi_RepliesInOrderWhileWriting()
    {
        const int n = 100;
        const int size = 5120;
        var payloads = Enumerable.Range(0, n).Select(i => Pattern(size, i)).ToArray();
        using var channel = Channel();
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, Options());
        var reader = Task.Run(async () =>
        {
            var seen = new List<EchoReply>();
            while (await call.ResponseStream.MoveNext())
            {
                seen.Add(call.ResponseStream.Current);
            }

            return seen;
        });
        foreach (var payload in payloads)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload });
        }

        await call.RequestStream.CompleteAsync();
        var replies = await reader;
        Assert.Equal(n, replies.Count);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(i, replies[i].Received);
            Assert.Equal(i, replies[i].Sequence);
            Assert.True(payloads[i] == replies[i].Payload, $"reply {i} payload differs");
        }

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [PythonGrpcFact]
    public async Task ServerStream_SendsCountRepliesInOrder()
    {
        using var channel = Channel();
        var payload = Pattern(100);
        using var call = channel.CallInvoker.AsyncServerStreamingCall(InteropMethods.ServerStream, Options(), new EchoRequest { Payload = payload, Count = 20 });
        var replies = new List<EchoReply>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            replies.Add(reply);
        }

        Assert.Equal(Enumerable.Range(0, 20), replies.Select(r => r.Sequence));
        Assert.All(replies, r => Assert.Equal(payload, r.Payload));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [PythonGrpcFact]
    public async Task ClientStream_CountsAndConcatenatesRequests()
    {
        const int n = 30;
        var payloads = Enumerable.Range(0, n).Select(i => Pattern(64, i)).ToArray();
        using var channel = Channel();
        using var call = channel.CallInvoker.AsyncClientStreamingCall(InteropMethods.ClientStream, Options());
        foreach (var payload in payloads)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call;
        Assert.Equal(n, reply.Received);
        Assert.Equal(ByteString.CopyFrom(payloads.SelectMany(p => p.ToByteArray()).ToArray()), reply.Payload);
    }

    [PythonGrpcFact]
    public async Task ErrorStatus_CarriesCodeAndUnicodeMessage()
    {
        using var channel = Channel();
        using var call = channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { StatusCode = 9, StatusMessage = ErrorMessage });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal(ErrorMessage, e.Status.Detail);
        Assert.Equal(new Status(StatusCode.FailedPrecondition, ErrorMessage), call.GetStatus());
    }

    [PythonGrpcFact]
    public async Task Deadline_ExpiresWithDeadlineExceeded()
    {
        using var channel = Channel();
        // Connect first: time only the call.
        await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest());
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions().WithTimeout(TimeSpan.FromMilliseconds(300)), new EchoRequest { DelayMs = 2000 }));
        var elapsed = clock.Elapsed;
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(1.5), $"took {elapsed.TotalMilliseconds:0} ms, expected < 1500 ms");
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(250), $"took {elapsed.TotalMilliseconds:0} ms: the 300 ms deadline fired too early");
        // The channel is still usable.
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { Payload = Pattern(10) });
        Assert.Equal(Pattern(10), reply.Payload);
    }

    [PythonGrpcFact]
    public async Task Metadata_RoundTripsTextAndBinary()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var headers = new Metadata { { "x-echo-text", "hello world" }, { "x-echo-data-bin", bytes } };
        using var channel = Channel();
        using var call = channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, Options(headers), new EchoRequest { Payload = ByteString.CopyFromUtf8("m") });
        var reply = await call;
        Assert.Equal(ByteString.CopyFromUtf8("m"), reply.Payload);
        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.Equal(new[] { "hello world" }, responseHeaders.GetAll("x-echo-text").Select(e => e.Value));
        Assert.Equal(bytes, Assert.Single(responseHeaders.GetAll("x-echo-data-bin")).ValueBytes);
        var trailers = call.GetTrailers();
        Assert.Equal(new[] { "hello world" }, trailers.GetAll("x-trailer-text").Select(e => e.Value));
        Assert.Equal(bytes, Assert.Single(trailers.GetAll("x-trailer-data-bin")).ValueBytes);
    }

    [PythonGrpcFact]
    public async Task Oversize_RequestAndReplyAreResourceExhausted_ChannelStaysUsable()
    {
        using var channel = Channel();
        var invoker = channel.CallInvoker;
        var big = new EchoRequest { Payload = ByteString.CopyFrom(Enumerable.Repeat((byte)1, 5 * MiB).ToArray()) };
        var request = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(InteropMethods.Unary, Options(), big));
        Assert.True(request.StatusCode == StatusCode.ResourceExhausted, $"5 MiB request: {request.Status}; {ServerLog}");

        var after = await invoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { Payload = ByteString.CopyFromUtf8("after") });
        Assert.Equal(ByteString.CopyFromUtf8("after"), after.Payload);

        // The python server sends the 5 MiB reply; our client's default 4 MiB receive limit refuses it.
        var reply = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { ReplySize = 5 * MiB }));
        Assert.True(reply.StatusCode == StatusCode.ResourceExhausted, $"5 MiB reply: {reply.Status}");
        Assert.Contains("larger than max", reply.Status.Detail, StringComparison.Ordinal);

        var again = await invoker.AsyncUnaryCall(InteropMethods.Unary, Options(), new EchoRequest { Payload = ByteString.CopyFromUtf8("again") });
        Assert.Equal(ByteString.CopyFromUtf8("again"), again.Payload);
    }

    [PythonGrpcFact]
    public async Task Exchange_AcksFramesInOrder_RefusesShortFrameInStream()
    {
        const int n = 50;
        const int batch = 128;
        const int classes = 10;
        var good = Pattern(batch * classes * 4);
        LogitsFrame Frame(long step, ByteString values) => new()
        {
            Cohort = "interop",
            Run = "interop-run",
            Sender = "cs",
            Receiver = "peer",
            Generation = 1,
            Step = step,
            Epoch = 0,
            BatchIndex = (int)step,
            Shape = { batch, classes },
            Dtype = WireDType.Fp32,
            Values = values,
            SentUnixNanos = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
        };

        using var channel = Channel();
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(PeerExchangeMethods.Exchange, Options());
        // Pipelined within the credit the receiver grants (1 frame before the first ack).
        long acked = -1;
        long next = 0;
        var credit = 1;
        while (acked < n - 1)
        {
            while (next < n && next - acked <= credit)
            {
                await call.RequestStream.WriteAsync(Frame(next, good));
                next++;
            }

            Assert.True(await call.ResponseStream.MoveNext(), $"the stream ended after the ack of step {acked}");
            var ack = call.ResponseStream.Current;
            Assert.True(ack.Accepted, $"frame {acked + 1} refused: {ack.Reason} (code {ack.RefusedCode})");
            Assert.Equal(acked + 1, ack.Step);
            Assert.Equal(0, ack.RefusedCode);
            Assert.True(ack.Credit > 0, $"the ack of step {ack.Step} grants no credit");
            acked = ack.Step;
            credit = ack.Credit;
        }

        // 100 bytes short of 128 x 10 x 4.
        await call.RequestStream.WriteAsync(Frame(n, ByteString.CopyFrom(good.ToByteArray(), 0, good.Length - 100)));
        Assert.True(await call.ResponseStream.MoveNext(), "the stream ended without answering the short frame");
        var refusal = call.ResponseStream.Current;
        Assert.False(refusal.Accepted, "the short frame was accepted");
        Assert.Equal(3, refusal.RefusedCode);
        Assert.Equal(n - 1, refusal.Step);
        Assert.Contains("5020 bytes", refusal.Reason, StringComparison.Ordinal);

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(), "an ack came after the half-close");
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [PythonGrpcFact]
    public async Task Gzip_UnaryAndBidiRequestsRoundTrip()
    {
        using var handler = new EncodingRecordingHandler();
        using var channel = Channel(new GrpcChannelOptions { HttpHandler = handler });
        var invoker = channel.CallInvoker;

        var payload = Pattern(20000);
        var reply = await invoker.AsyncUnaryCall(InteropMethods.Unary, Options(compression: "gzip"), new EchoRequest { Payload = payload });
        Assert.Equal(payload, reply.Payload);

        const int n = 20;
        var payloads = Enumerable.Range(0, n).Select(i => Pattern(5120, i)).ToArray();
        using var call = invoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, Options(compression: "gzip"));
        var reader = Task.Run(async () =>
        {
            var seen = new List<EchoReply>();
            while (await call.ResponseStream.MoveNext())
            {
                seen.Add(call.ResponseStream.Current);
            }

            return seen;
        });
        foreach (var p in payloads)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = p });
        }

        await call.RequestStream.CompleteAsync();
        var replies = await reader;
        Assert.Equal(Enumerable.Range(0, n), replies.Select(r => r.Received));
        for (var i = 0; i < n; i++)
        {
            Assert.True(payloads[i] == replies[i].Payload, $"bidi reply {i} payload differs");
        }

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        // Both requests went out as gzip.
        Assert.Equal(new[] { "gzip", "gzip" }, handler.RequestEncodings.ToArray());
    }

    /// <summary>HTTP/2 to the server, recording the grpc-encoding of every request.</summary>
    private sealed class EncodingRecordingHandler() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
    {
        public ConcurrentQueue<string> RequestEncodings { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            RequestEncodings.Enqueue(request.Headers.TryGetValues("grpc-encoding", out var values) ? string.Join(",", values) : "(none)");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
