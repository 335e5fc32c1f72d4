using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using PeerDistill.Rpc.Testing.V1;
using PeerDistill.Rpc.Tests.Support;
using Xunit;

namespace PeerDistill.Rpc.Tests;

/// <summary>Our client against our server on real Kestrel over loopback: every kind of call and the protocol's features.</summary>
public sealed class LoopbackCallTests
{
    private static EchoRequest Echo(int size) => new() { Payload = ByteString.CopyFrom(Enumerable.Range(0, size).Select(i => (byte)i).ToArray()) };

    [Fact]
    public async Task Unary_EchoesPayload()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(1000));
        Assert.Equal(Echo(1000).Payload, reply.Payload);
        var sized = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { ReplySize = 5000 });
        Assert.Equal(5000, sized.Payload.Length);
    }

    [Fact]
    public async Task Bidi_RepliesInOrderWhileWriting()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        var reader = Task.Run(async () =>
        {
            var seen = new List<EchoReply>();
            while (await call.ResponseStream.MoveNext())
            {
                seen.Add(call.ResponseStream.Current);
            }

            return seen;
        });
        for (var i = 0; i < 100; i++)
        {
            await call.RequestStream.WriteAsync(Echo(5120));
        }

        await call.RequestStream.CompleteAsync();
        var replies = await reader;
        Assert.Equal(100, replies.Count);
        Assert.Equal(Enumerable.Range(0, 100), replies.Select(r => r.Received));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Error_CarriesCodeAndUnicodeMessage()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        const string message = "peer 'a' is at step 7 — not ready ✓ 100%";
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { StatusCode = 9, StatusMessage = message }));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
    }

    [Fact]
    public async Task Deadline_ExpiresWithDeadlineExceeded()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions().WithTimeout(TimeSpan.FromMilliseconds(300)), new EchoRequest { DelayMs = 3000 }));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Metadata_RoundTripsTextAndBinary()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var headers = new Metadata { { "x-echo-text", "hello world" }, { "x-echo-data-bin", bytes } };
        using var call = channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(headers), Echo(10));
        await call;
        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.Equal("hello world", responseHeaders.GetValue("x-echo-text"));
        Assert.Equal(bytes, responseHeaders.GetValueBytes("x-echo-data-bin"));
        Assert.Equal("hello world", call.GetTrailers().GetValue("x-trailer-text"));
        Assert.Equal(bytes, call.GetTrailers().GetValueBytes("x-trailer-data-bin"));
    }

    // ---- streaming ---------------------------------------------------------------------------------

    [Fact]
    public async Task ServerStreaming_Count20_ArrivesInOrder()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = channel.CallInvoker.AsyncServerStreamingCall(InteropMethods.ServerStream, new CallOptions(), new EchoRequest { Count = 20, ReplySize = 100 });
        var replies = new List<EchoReply>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            replies.Add(reply);
        }

        Assert.Equal(Enumerable.Range(0, 20), replies.Select(r => r.Sequence));
        Assert.All(replies, r => Assert.Equal(100, r.Payload.Length));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_Send30_Received30()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = channel.CallInvoker.AsyncClientStreamingCall(InteropMethods.ClientStream, new CallOptions());
        for (var i = 0; i < 30; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom((byte)i) });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call;
        Assert.Equal(30, reply.Received);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (byte)i), reply.Payload.ToByteArray());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task BidiWhereServerSpeaksFirst_StartsWithoutAClientMessage()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        // The handler sends its response headers (the echoed x-echo- entry) before reading: the call
        // must reach the server although the client has written nothing yet.
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions(new Metadata { { "x-echo-first", "server" } }));
        var headers = await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("server", headers.GetValue("x-echo-first"));
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    // ---- cancellation and deadlines ----------------------------------------------------------------

    [Fact]
    public async Task CancelledBidi_ClientSeesCancelledAndServerTokenFires()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var before = Volatile.Read(ref InteropService.CancelledCalls);
        using var cts = new CancellationTokenSource();
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions(CancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(Echo(10));
        Assert.True(await call.ResponseStream.MoveNext());
        var pending = call.ResponseStream.MoveNext(); // a read waits for the next reply
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);

        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var e = await Assert.ThrowsAsync<RpcException>(() => pending);
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        var write = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(Echo(1)));
        Assert.Equal(StatusCode.Cancelled, write.StatusCode);
        await WaitUntilAsync(() => Volatile.Read(ref InteropService.CancelledCalls) > before, "the server handler's token to fire");
    }

    [Fact]
    public async Task CancelledServerStreamWithoutPendingRead_ServerTokenFires()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var cts = new CancellationTokenSource();
        using var call = channel.CallInvoker.AsyncServerStreamingCall(ExtrasService.Ticks, new CallOptions(CancellationToken: cts.Token), new EchoRequest());
        Assert.True(await call.ResponseStream.MoveNext());
        // Nobody reads: only the token tells the server that the call is over.
        cts.Cancel();
        await extras.TicksCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
    }

    [Fact]
    public async Task DeadlineWithHandlerIgnoringToken_DeadlineExceededPromptlyAndServerSurvives()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(1)); // connected, code warm
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CallInvoker.AsyncUnaryCall(ExtrasService.Sleep, new CallOptions().WithTimeout(TimeSpan.FromMilliseconds(300)), new EchoRequest { DelayMs = 2500 }));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1500), $"took {clock.Elapsed}");
        await extras.SleepStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(extras.SleepReturned.Task.IsCompleted);

        // The handler returns long after its call ended; its late response goes nowhere.
        await extras.SleepReturned.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(10));
        Assert.Equal(Echo(10).Payload, reply.Payload);
        var quick = await channel.CallInvoker.AsyncUnaryCall(ExtrasService.Sleep, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)), new EchoRequest { DelayMs = 10, ReplySize = 7 });
        Assert.Equal(7, quick.Payload.Length);
    }

    [Theory]
    [InlineData("300m")]
    [InlineData("300000u")]
    public async Task ServerDeadline_EndsCallWithoutClientTimer(string grpcTimeout)
    {
        // A raw client with no timer of its own: the server alone must end the call at the deadline.
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var sleep = new EchoRequest { DelayMs = 2000 };
        var framed = new byte[5 + sleep.CalculateSize()];
        sleep.WriteTo(framed.AsSpan(5));
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)(framed.Length - 5));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Address, ExtrasService.Sleep.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed),
        };
        request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        await response.Content.ReadAsByteArrayAsync();
        var elapsed = clock.Elapsed;
        var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.First() : response.TrailingHeaders.GetValues("grpc-status").First();
        Assert.Equal(((int)StatusCode.DeadlineExceeded).ToString(CultureInfo.InvariantCulture), status);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(250), $"the server ended the call after {elapsed}, before its 300 ms deadline");
        Assert.True(elapsed < TimeSpan.FromMilliseconds(1800), $"the server ended the call after {elapsed}");
    }

    // ---- message size limits -----------------------------------------------------------------------

    [Fact]
    public async Task RequestOverServerReceiveLimit_IsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxReceiveMessageSize = 64 * 1024);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(100 * 1024)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var ok = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(60 * 1024));
        Assert.Equal(60 * 1024, ok.Payload.Length);
    }

    [Fact]
    public async Task ResponseOverClientReceiveLimit_IsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { ReplySize = 100 * 1024 }));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);

        using var stream = channel.CallInvoker.AsyncServerStreamingCall(InteropMethods.ServerStream, new CallOptions(), new EchoRequest { Count = 3, ReplySize = 100 * 1024 });
        var streamed = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.ResourceExhausted, streamed.StatusCode);
        var ok = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { ReplySize = 60 * 1024 });
        Assert.Equal(60 * 1024, ok.Payload.Length);
    }

    [Fact]
    public async Task RequestOverClientSendLimit_IsResourceExhaustedBeforeSending()
    {
        var counter = new CountingInterceptor();
        await using var server = await TestServer.StartAsync(o => o.Interceptors.Add(counter));
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSize = 64 * 1024 });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(100 * 1024)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(0, counter.Calls);

        using var bidi = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        var write = await Assert.ThrowsAsync<RpcException>(() => bidi.RequestStream.WriteAsync(Echo(100 * 1024)));
        Assert.Equal(StatusCode.ResourceExhausted, write.StatusCode);
        var ok = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(60 * 1024));
        Assert.Equal(60 * 1024, ok.Payload.Length);
    }

    [Fact]
    public async Task ResponseOverServerSendLimit_IsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxSendMessageSize = 64 * 1024);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { ReplySize = 100 * 1024 }));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);

        using var stream = channel.CallInvoker.AsyncServerStreamingCall(InteropMethods.ServerStream, new CallOptions(), new EchoRequest { Count = 3, ReplySize = 100 * 1024 });
        var streamed = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.ResourceExhausted, streamed.StatusCode);
    }

    // ---- compression -------------------------------------------------------------------------------

    [Fact]
    public async Task GzipRequestCompression_RoundTrips()
    {
        var encodings = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(o => o.Interceptors.Add(new EncodingRecorder(encodings)));
        using var channel = GrpcChannel.ForAddress(server.Address);
        var request = new EchoRequest { Payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'a', 200_000).ToArray()) };
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(RequestCompression: "gzip"), request);
        Assert.Equal(request.Payload, reply.Payload);

        using var gzipChannel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { RequestCompression = "gzip" });
        using var call = gzipChannel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        for (var i = 0; i < 5; i++)
        {
            await call.RequestStream.WriteAsync(Echo(10_000));
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal(Echo(10_000).Payload, call.ResponseStream.Current.Payload);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(new[] { "gzip", "gzip" }, encodings);
    }

    [Fact]
    public async Task GzipResponseCompression_RoundTrips()
    {
        await using var server = await TestServer.StartAsync(o => o.ResponseCompressionAlgorithm = "gzip");
        using var recorder = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = recorder });
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), new EchoRequest { ReplySize = 300_000 });
        Assert.Equal(300_000, reply.Payload.Length);
        Assert.All(reply.Payload.ToByteArray(), b => Assert.Equal(0x5A, b));
        using var stream = channel.CallInvoker.AsyncServerStreamingCall(InteropMethods.ServerStream, new CallOptions(), new EchoRequest { Count = 4, ReplySize = 50_000 });
        var count = 0;
        while (await stream.ResponseStream.MoveNext())
        {
            Assert.Equal(50_000, stream.ResponseStream.Current.Payload.Length);
            count++;
        }

        Assert.Equal(4, count);
        Assert.Equal(2, recorder.Responses.Count);
        Assert.All(recorder.Responses, r => Assert.Equal("gzip", r.Headers.GetValues("grpc-encoding").Single()));
    }

    // ---- interceptors and handler failures ---------------------------------------------------------

    [Fact]
    public async Task TwoInterceptors_RunInOrder()
    {
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Interceptors.Add(new RecordingInterceptor("first", order));
            o.Interceptors.Add(new RecordingInterceptor("second", order));
        });
        using var channel = GrpcChannel.ForAddress(server.Address);
        await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(1));
        Assert.Equal(new[] { "first>", "second>", "<second", "<first" }, order);

        order.Clear();
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        await call.RequestStream.WriteAsync(Echo(1));
        Assert.True(await call.ResponseStream.MoveNext());
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(new[] { "first>", "second>", "<second", "<first" }, order);
    }

    [Fact]
    public async Task RefusingInterceptor_UnaryAndBidiAreUnauthenticated()
    {
        await using var server = await TestServer.StartAsync(o => o.Interceptors.Add(new RefusingInterceptor()));
        using var channel = GrpcChannel.ForAddress(server.Address);
        var unary = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(1)));
        Assert.Equal(StatusCode.Unauthenticated, unary.StatusCode);
        Assert.Equal("no credentials", unary.Status.Detail);

        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        var bidi = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unauthenticated, bidi.StatusCode);
        var write = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(Echo(1)));
        Assert.Equal(StatusCode.Unauthenticated, write.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task HandlerThrows_UnknownWithoutItsMessage()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(ExtrasService.Throw, new CallOptions(), new EchoRequest()));
        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.DoesNotContain("secret internals", e.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("secret internals", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandlerThrowsWithDetailedErrors_UnknownWithItsMessage()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync(o => o.EnableDetailedErrors = true);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(ExtrasService.Throw, new CallOptions(), new EchoRequest()));
        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Contains("secret internals", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnimplementedMethod_IsUnimplemented()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var missing = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.Unary, InteropMethods.ServiceName, "NoSuchMethod");
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(missing, new CallOptions(), new EchoRequest()));
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);

        var missingBidi = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.DuplexStreaming, "no.such.Service", "Bidi");
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(missingBidi, new CallOptions());
        var bidi = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unimplemented, bidi.StatusCode);
    }

    [Fact]
    public async Task HandlerThrowsBeforeWriting_TrailersOnlyWithStatusAndTrailers()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var recorder = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = recorder });
        using var call = channel.CallInvoker.AsyncUnaryCall(ExtrasService.FailEarly, new CallOptions(), new EchoRequest());
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("nothing here ✗", e.Status.Detail);
        Assert.Equal("yes", e.Trailers.GetValue("x-early"));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, e.Trailers.GetValueBytes("x-detail-bin"));
        Assert.Equal("yes", call.GetTrailers().GetValue("x-early"));
        var response = Assert.Single(recorder.Responses);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("5", response.Headers.GetValues("grpc-status").Single()); // in the headers: trailers-only
    }

    // ---- HTTP/2 flow control and keep-alive --------------------------------------------------------

    [Fact]
    public async Task ServerNeverReads_ClientWritesAreHeldBack()
    {
        var extras = new ExtrasService();
        await using var server = await extras.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(ExtrasService.NeverRead, new CallOptions());
        var message = Echo(5 * 1024);
        long written = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await call.RequestStream.WriteAsync(message);
                Interlocked.Add(ref written, message.CalculateSize() + 5);
            }
        });
        await extras.NeverReadStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(2000);
        var writtenIn2s = Interlocked.Read(ref written);
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);

        Assert.False(writer.IsCompleted, $"the writer stopped: {writer.Exception}");
        Assert.True(writtenIn2s > 64 * 1024, $"only {writtenIn2s} bytes written: the windows should take some");
        Assert.True(writtenIn2s < 20 * 1024 * 1024, $"{writtenIn2s} bytes written to a server that never reads");
        Assert.True(memoryAfter - memoryBefore < 64 * 1024 * 1024, $"memory grew by {memoryAfter - memoryBefore} bytes");

        // A pending write stays pending: flow control holds the sender back.
        var stuck = Interlocked.Read(ref written);
        await Task.Delay(300);
        Assert.Equal(stuck, Interlocked.Read(ref written));

        stop.Cancel();
        call.Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => writer.WaitAsync(TimeSpan.FromSeconds(10)));
        await extras.NeverReadCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task KeepAlivePings_IdleBidiSurvivesAndStillWorks()
    {
        await using var server = await TestServer.StartAsync(host: h =>
        {
            h.KeepAlivePingDelay = TimeSpan.FromSeconds(1);
            h.KeepAlivePingTimeout = TimeSpan.FromSeconds(2);
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(2),
        });
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        await call.RequestStream.WriteAsync(Echo(10));
        Assert.True(await call.ResponseStream.MoveNext());
        await Task.Delay(3000);
        await call.RequestStream.WriteAsync(Echo(20));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(1, call.ResponseStream.Current.Received);
        Assert.Equal(Echo(20).Payload, call.ResponseStream.Current.Payload);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    // ---- TLS ---------------------------------------------------------------------------------------

    [Fact]
    public async Task Tls_SelfSignedTrustedByCallback_UnaryAndBidiWork()
    {
        using var tls = SelfSignedCertificate.Create();
        await using var server = await TestServer.StartAsync(host: h =>
        {
            h.CertificatePath = tls.CertificatePath;
            h.CertificateKeyPath = tls.KeyPath;
        });
        Assert.Equal("https", server.Address.Scheme);
        var seen = 0;
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            ServerCertificateValidation = (_, certificate, _, _) =>
            {
                Interlocked.Increment(ref seen);
                return certificate is not null && certificate.GetCertHashString() == tls.Thumbprint;
            },
        });
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions(), Echo(1000));
        Assert.Equal(Echo(1000).Payload, reply.Payload);
        Assert.True(seen > 0, "the certificate callback never ran");

        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(Echo(100));
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal(i, call.ResponseStream.Current.Received);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Tls_UntrustedCertificate_IsUnavailable()
    {
        using var tls = SelfSignedCertificate.Create();
        await using var server = await TestServer.StartAsync(host: h =>
        {
            h.CertificatePath = tls.CertificatePath;
            h.CertificateKeyPath = tls.KeyPath;
        });
        using var channel = GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)), Echo(10)));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);

        using var rejecting = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { ServerCertificateValidation = (_, _, _, _) => false });
        var rejected = await Assert.ThrowsAsync<RpcException>(async () => await rejecting.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)), Echo(10)));
        Assert.Equal(StatusCode.Unavailable, rejected.StatusCode);
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Test-only methods: a handler that ignores its token, one that throws, one that fails before writing, one that never reads.</summary>
    private sealed class ExtrasService
    {
        private const string ServiceName = "peerdistill.testing.v1.LoopbackExtras";

        public static readonly Method<EchoRequest, EchoReply> Sleep = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.Unary, ServiceName, "Sleep");
        public static readonly Method<EchoRequest, EchoReply> Throw = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.Unary, ServiceName, "Throw");
        public static readonly Method<EchoRequest, EchoReply> FailEarly = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.Unary, ServiceName, "FailEarly");
        public static readonly Method<EchoRequest, EchoReply> NeverRead = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.DuplexStreaming, ServiceName, "NeverRead");
        public static readonly Method<EchoRequest, EchoReply> Ticks = ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.ServerStreaming, ServiceName, "Ticks");

        public TaskCompletionSource SleepStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SleepReturned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource NeverReadStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource NeverReadCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource TicksCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<GrpcServerHost> StartAsync(Action<GrpcServerOptions>? configure = null) =>
            GrpcServerHost.StartAsync(new GrpcServerHostOptions { ConfigureGrpc = configure }, InteropService.Create(), Create());

        private ServerServiceDefinition Create() => ServerServiceDefinition.CreateBuilder()
            .AddMethod(Sleep, SleepAsync)
            .AddMethod(Throw, (EchoRequest _, ServerCallContext _) => throw new InvalidOperationException("secret internals"))
            .AddMethod(FailEarly, FailEarlyAsync)
            .AddMethod(NeverRead, NeverReadAsync)
            .AddMethod(Ticks, TicksAsync)
            .Build();

        private async Task<EchoReply> SleepAsync(EchoRequest request, ServerCallContext context)
        {
            // Ignores context.CancellationToken on purpose.
            SleepStarted.TrySetResult();
            await Task.Delay(request.DelayMs, CancellationToken.None);
            SleepReturned.TrySetResult();
            return new EchoReply { Payload = ByteString.CopyFrom(new byte[request.ReplySize]) };
        }

        private static Task<EchoReply> FailEarlyAsync(EchoRequest request, ServerCallContext context)
        {
            context.ResponseTrailers.Add("x-early", "yes");
            throw new RpcException(new Status(StatusCode.NotFound, "nothing here ✗"), new Metadata { { "x-detail-bin", new byte[] { 0, 1, 2, 255 } } });
        }

        private async Task NeverReadAsync(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
        {
            using var registration = context.CancellationToken.Register(() => NeverReadCancelled.TrySetResult());
            NeverReadStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        private async Task TicksAsync(EchoRequest request, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
        {
            using var registration = context.CancellationToken.Register(() => TicksCancelled.TrySetResult());
            await responses.WriteAsync(new EchoReply { Sequence = 0 });
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
    }

    private sealed class RecordingInterceptor(string name, System.Collections.Concurrent.ConcurrentQueue<string> order) : Interceptor
    {
        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            order.Enqueue(name + ">");
            var response = await continuation(request, context);
            order.Enqueue("<" + name);
            return response;
        }

        public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            order.Enqueue(name + ">");
            await continuation(requestStream, responseStream, context);
            order.Enqueue("<" + name);
        }
    }

    private sealed class RefusingInterceptor : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
            throw new RpcException(StatusCode.Unauthenticated, "no credentials");

        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
            throw new RpcException(StatusCode.Unauthenticated, "no credentials");
    }

    private sealed class CountingInterceptor : Interceptor
    {
        public int Calls;

        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            Interlocked.Increment(ref Calls);
            return continuation(request, context);
        }
    }

    /// <summary>Records the request's grpc-encoding (reserved headers are not metadata: read from the HTTP request).</summary>
    private sealed class EncodingRecorder(System.Collections.Concurrent.ConcurrentQueue<string> encodings) : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            encodings.Enqueue(context.GetHttpContext().Request.Headers["grpc-encoding"].ToString());
            return continuation(request, context);
        }

        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            encodings.Enqueue(context.GetHttpContext().Request.Headers["grpc-encoding"].ToString());
            return continuation(requestStream, responseStream, context);
        }
    }

    /// <summary>An HTTP handler that keeps every response it passes on (to look at raw headers).</summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false })
    {
        public System.Collections.Concurrent.ConcurrentQueue<HttpResponseMessage> Responses { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Responses.Enqueue(response);
            return response;
        }
    }

    /// <summary>A self-signed ECDSA certificate for 127.0.0.1/localhost, written as PEM certificate and key to a temporary folder.</summary>
    private sealed class SelfSignedCertificate : IDisposable
    {
        private readonly string _directory;

        private SelfSignedCertificate(string directory, string thumbprint)
        {
            _directory = directory;
            Thumbprint = thumbprint;
        }

        public string CertificatePath => Path.Combine(_directory, "server.crt");

        public string KeyPath => Path.Combine(_directory, "server.key");

        public string Thumbprint { get; }

        public static SelfSignedCertificate Create()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=peerdistill-test", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var directory = Directory.CreateTempSubdirectory("peerdistill-tls-").FullName;
            var result = new SelfSignedCertificate(directory, certificate.GetCertHashString());
            File.WriteAllText(result.CertificatePath, certificate.ExportCertificatePem());
            File.WriteAllText(result.KeyPath, key.ExportPkcs8PrivateKeyPem());
            return result;
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
