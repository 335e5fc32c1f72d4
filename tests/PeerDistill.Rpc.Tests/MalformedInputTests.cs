using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using PeerDistill.Rpc.Testing.V1;
using PeerDistill.Rpc.Tests.Support;
using Xunit;

namespace PeerDistill.Rpc.Tests;

/// <summary>
/// Malformed input never crashes the server: hand-made HTTP/2 requests (HttpClient with hand-made
/// bodies, or a raw socket speaking a minimal HTTP/2) against the real server, each followed by a
/// normal call that must still succeed.
/// </summary>
public sealed class MalformedInputTests
{
    private const string UnaryPath = "/peerdistill.testing.v1.Interop/Unary";
    private const string BidiPath = "/peerdistill.testing.v1.Interop/Bidi";
    private const int DefaultLimit = 4 * 1024 * 1024;

    private static readonly Method<EchoRequest, EchoReply> TrackedBidi =
        ProtobufMethod.Create<EchoRequest, EchoReply>(MethodType.DuplexStreaming, "peerdistill.testing.v1.Tracked", "Bidi");

    // ---- framing ---------------------------------------------------------------------------------

    [Fact]
    public async Task TruncatedFrame_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, [.. Header(0, 100), .. new byte[10]]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task TruncatedHeader_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, [0, 0, 0]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task LengthPrefixOverLimit_IsResourceExhaustedImmediately()
    {
        await using var server = await TestServer.StartAsync();
        using var client = CreateClient();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // Only the 5-byte header is sent and the request stays open: the server must answer
            // without waiting for (or allocating) the 2 GiB it announces.
            var allocatedBefore = GC.GetTotalAllocatedBytes();
            var clock = Stopwatch.StartNew();
            using var request = CreateRequest(server, UnaryPath, new HeldOpenContent(Header(0, 0x7FFFFFFF), release.Task));
            using var sent = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(5));
            var response = await RawResponse.ReadAsync(sent);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
            Assert.False(release.Task.IsCompleted);
            AssertGrpcStatus(response, StatusCode.ResourceExhausted);
            var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
            Assert.True(allocated < 512L * 1024 * 1024, $"{allocated} bytes allocated while refusing the message");
        }
        finally
        {
            release.TrySetResult();
        }

        await AssertServesAsync(server);
    }

    [Fact]
    public async Task LengthPrefixJustOverConfiguredLimit_IsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxReceiveMessageSize = 1000);
        var response = await SendAsync(server, [.. Header(0, 1001), .. new byte[1001]]);
        AssertGrpcStatus(response, StatusCode.ResourceExhausted);
        await AssertServesAsync(server);
    }

    // ---- headers ---------------------------------------------------------------------------------

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/grpcx")]
    [InlineData(null)]
    public async Task WrongContentType_IsHttp415WithInternal(string? contentType)
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, Frame(new EchoRequest()), contentType: contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        await AssertServesAsync(server);
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task GrpcContentTypeVariants_AreAccepted(string contentType)
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, Frame(new EchoRequest { ReplySize = 3 }), contentType: contentType);
        AssertGrpcStatus(response, StatusCode.OK);
        Assert.False(response.TrailersOnly);
        Assert.Equal(10, response.Body.Length); // one message: 5-byte header + payload field (tag, length, 3 bytes)
    }

    [Fact]
    public async Task CompressedFlagWithoutGrpcEncoding_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, [.. Header(1, 3), 1, 2, 3]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task UnknownGrpcEncoding_IsUnimplementedListingGzip()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, [.. Header(1, 3), 1, 2, 3], headers: [("grpc-encoding", "snappy")]);
        AssertGrpcStatus(response, StatusCode.Unimplemented);
        Assert.True(response.TrailersOnly);
        var accepted = response.Header("grpc-accept-encoding");
        Assert.NotNull(accepted);
        Assert.Contains("gzip", accepted.Split(',', StringSplitOptions.TrimEntries));
        await AssertServesAsync(server);
    }

    // ---- message contents ------------------------------------------------------------------------

    [Fact]
    public async Task InvalidCompressedFlag_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var payload = new EchoRequest().ToByteArray();
        var response = await SendAsync(server, [.. Header(2, (uint)payload.Length), .. payload]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task GzipFlagWithNonGzipBytes_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var junk = Encoding.ASCII.GetBytes("this is not gzip at all");
        var response = await SendAsync(server, [.. Header(1, (uint)junk.Length), .. junk], headers: [("grpc-encoding", "gzip")]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task GzipFlagWithRealGzip_IsServed()
    {
        await using var server = await TestServer.StartAsync();
        var framed = MessageFramingForTests.FrameGzip(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4000]) });
        var response = await SendAsync(server, framed, headers: [("grpc-encoding", "gzip")]);
        AssertGrpcStatus(response, StatusCode.OK);
        Assert.Equal(4000, EchoReply.Parser.ParseFrom(response.Body.AsSpan(5)).Payload.Length);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    public async Task GarbageBody_IsTheStatusItsHeaderImplies(int seed, bool flagZero)
    {
        var body = new byte[1024];
        new Random(seed).NextBytes(body);
        if (flagZero)
        {
            body[0] = 0;
        }

        // What the first 5 bytes imply: a bad flag is Internal, a length over 4 MiB ResourceExhausted,
        // anything else Internal (a compressed flag without grpc-encoding, a truncated message, a
        // payload that is not an EchoRequest, or data after the one message of a unary call).
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        var expected = body[0] <= 1 && length > DefaultLimit ? StatusCode.ResourceExhausted : StatusCode.Internal;

        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, body);
        AssertGrpcStatus(response, expected);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task GarbageBodyWithSmallLength_IsInternal()
    {
        var body = new byte[1024];
        new Random(42).NextBytes(body);
        body[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), 1019); // exactly the rest: a payload that is not an EchoRequest

        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, body);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task PayloadNotProtobuf_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        // Field 1 (bytes) announcing 16 bytes that never come.
        var response = await SendAsync(server, [.. Header(0, 2), 0x0A, 0x10]);
        AssertGrpcStatus(response, StatusCode.Internal);
        Assert.Contains("deserialize", response.GrpcMessage ?? string.Empty, StringComparison.OrdinalIgnoreCase);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task UnaryWithTwoMessages_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, [.. Frame(new EchoRequest { ReplySize = 1 }), .. Frame(new EchoRequest { ReplySize = 1 })]);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task UnaryWithZeroMessages_IsInternal()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, []);
        AssertGrpcStatus(response, StatusCode.Internal);
        await AssertServesAsync(server);
    }

    // ---- requests that are not gRPC calls ---------------------------------------------------------

    [Fact]
    public async Task UnknownMethodPath_IsUnimplementedTrailersOnly()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, Frame(new EchoRequest()), path: "/peerdistill.testing.v1.Interop/NoSuchMethod");
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal((int)StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Empty(response.Body);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task UnknownService_IsUnimplemented()
    {
        await using var server = await TestServer.StartAsync();
        var response = await SendAsync(server, Frame(new EchoRequest()), path: "/no.such.Service/Method");
        AssertGrpcStatus(response, StatusCode.Unimplemented);
        await AssertServesAsync(server);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    public async Task NotPost_IsRefusedAndServerSurvives(string method)
    {
        await using var server = await TestServer.StartAsync();
        using var client = CreateClient();
        using var request = CreateRequest(server, UnaryPath, method == "GET" ? null : new ByteArrayContent(Frame(new EchoRequest())), method: new HttpMethod(method));
        using var sent = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        var response = await RawResponse.ReadAsync(sent);
        Assert.NotEqual(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.HttpStatus);
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task Http11Request_FailsAndServerSurvives()
    {
        await using var server = await TestServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Address, UnaryPath))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Frame(new EchoRequest())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        try
        {
            using var response = await client.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The h2c-only port does not speak HTTP/1.1: failing to get a response is the expected outcome.
        }

        await AssertServesAsync(server);
    }

    [Fact]
    public async Task GarbageInsteadOfConnectionPreface_ServerSurvives()
    {
        await using var server = await TestServer.StartAsync();
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(IPAddress.Loopback, server.Port);
            var junk = new byte[4096];
            new Random(7).NextBytes(junk);
            await socket.SendAsync(junk);
            // The server closes the connection (after a GOAWAY); reading returns 0 or fails.
            var buffer = new byte[1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await socket.ReceiveAsync(buffer, timeout.Token) > 0)
                {
                }
            }
            catch (SocketException)
            {
            }
        }

        await AssertServesAsync(server);
    }

    // ---- clients that vanish ---------------------------------------------------------------------

    [Fact]
    public async Task RawClientVanishesMidMessage_HandlerCancelledAndServerServes()
    {
        var tracker = new Tracker();
        await using var server = await GrpcServerHost.StartAsync(new GrpcServerHostOptions(), InteropService.Create(), tracker.Create());
        using (var connection = await RawHttp2Connection.ConnectAsync(server.Port))
        {
            await connection.SendHeadersAsync(1, RawHttp2Connection.GrpcRequestHeaders(server, TrackedBidi.FullName));
            // Half a message: the header announces 100 bytes, 20 come.
            await connection.SendDataAsync(1, [.. Header(0, 100), .. new byte[20]], endStream: false);
            await connection.WaitForResponseHeadersAsync(1);
            Assert.Equal(1, Volatile.Read(ref tracker.Running));
            connection.Abort();
        }

        await WaitUntilAsync(() => Volatile.Read(ref tracker.Running) == 0 && Volatile.Read(ref tracker.Cancelled) == 1, "the handler to be cancelled and return", tracker.ToString);
        Assert.Equal(1, tracker.Started);
        await AssertServesAsync(server);
        await AssertTrackedBidiServesAsync(server);
    }

    [Fact]
    public async Task RawClientVanishesDuringInteropBidi_HandlerTokenFires()
    {
        await using var server = await TestServer.StartAsync();
        var before = Volatile.Read(ref InteropService.CancelledCalls);
        using (var connection = await RawHttp2Connection.ConnectAsync(server.Port))
        {
            // An x-echo- header makes the handler send response headers: proof that it runs.
            await connection.SendHeadersAsync(1, [.. RawHttp2Connection.GrpcRequestHeaders(server, BidiPath), ("x-echo-probe", "1")]);
            await connection.SendDataAsync(1, Header(0, 50), endStream: false);
            await connection.WaitForResponseHeadersAsync(1);
            connection.Abort();
        }

        await WaitUntilAsync(() => Volatile.Read(ref InteropService.CancelledCalls) > before, "the Bidi handler's token to fire");
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task ClientSocketClosedMidBidi_ClientUnavailableAndHandlerTokenFires()
    {
        await using var server = await TestServer.StartAsync();
        var before = Volatile.Read(ref InteropService.CancelledCalls);
        var sockets = new List<Socket>();
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                lock (sockets)
                {
                    sockets.Add(socket);
                }

                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = handler });
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions());
        await call.RequestStream.WriteAsync(new EchoRequest { ReplySize = 10 });
        Assert.True(await call.ResponseStream.MoveNext());

        // The connection goes away under the call: no RST_STREAM, no END_STREAM, a TCP reset.
        lock (sockets)
        {
            var socket = Assert.Single(sockets);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        await WaitUntilAsync(() => Volatile.Read(ref InteropService.CancelledCalls) > before, "the Bidi handler's token to fire");
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task ChannelBidiCancelledMidStream_HandlerTokenFiresAndServerServes()
    {
        await using var server = await TestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var before = Volatile.Read(ref InteropService.CancelledCalls);
        using var cts = new CancellationTokenSource();
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(InteropMethods.Bidi, new CallOptions(CancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(new EchoRequest { ReplySize = 10 });
        Assert.True(await call.ResponseStream.MoveNext());
        cts.Cancel();
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        await WaitUntilAsync(() => Volatile.Read(ref InteropService.CancelledCalls) > before, "the Bidi handler's token to fire");
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task FiftyAbruptDisconnects_LeaveNoRunningHandlers()
    {
        const int Disconnects = 50;
        var tracker = new Tracker();
        await using var server = await GrpcServerHost.StartAsync(new GrpcServerHostOptions(), InteropService.Create(), tracker.Create());
        for (var i = 0; i < Disconnects; i++)
        {
            using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
            await connection.SendHeadersAsync(1, RawHttp2Connection.GrpcRequestHeaders(server, TrackedBidi.FullName));
            if (i % 2 == 0)
            {
                await connection.SendDataAsync(1, [.. Header(0, 1000), .. new byte[300]], endStream: false);
            }

            await connection.WaitForResponseHeadersAsync(1);
            connection.Abort();
        }

        await WaitUntilAsync(() => Volatile.Read(ref tracker.Running) == 0 && Volatile.Read(ref tracker.Cancelled) == Disconnects, "every handler to be cancelled and return", tracker.ToString);
        Assert.Equal(Disconnects, tracker.Started);
        Assert.Equal(0, tracker.Running);
        await AssertServesAsync(server);
        await AssertTrackedBidiServesAsync(server);
        Assert.Equal(0, tracker.Running);
    }

    [Fact]
    public async Task RawClientResetsStream_HandlerCancelledAndConnectionStillServes()
    {
        var tracker = new Tracker();
        await using var server = await GrpcServerHost.StartAsync(new GrpcServerHostOptions(), InteropService.Create(), tracker.Create());
        using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        await connection.SendHeadersAsync(1, RawHttp2Connection.GrpcRequestHeaders(server, TrackedBidi.FullName));
        await connection.SendDataAsync(1, Header(0, 10), endStream: false);
        await connection.WaitForResponseHeadersAsync(1);
        await connection.SendRstStreamAsync(1, 0x8); // CANCEL
        await WaitUntilAsync(() => Volatile.Read(ref tracker.Running) == 0 && Volatile.Read(ref tracker.Cancelled) == 1, "the handler to be cancelled and return", tracker.ToString);

        // The same connection still serves a complete call.
        await connection.SendHeadersAsync(3, RawHttp2Connection.GrpcRequestHeaders(server, UnaryPath));
        await connection.SendDataAsync(3, Frame(new EchoRequest { ReplySize = 4 }), endStream: true);
        var (headers, data, trailers) = await connection.ReadResponseAsync(3);
        Assert.Contains(":status", headers.Keys);
        Assert.Equal("200", headers[":status"]);
        Assert.Equal(4, EchoReply.Parser.ParseFrom(data.AsSpan(5)).Payload.Length);
        Assert.Equal(11, data.Length); // 5-byte header + payload field (tag, length, 4 bytes)
        Assert.Equal("0", trailers["grpc-status"]);
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static byte[] Header(byte flag, uint length)
    {
        var header = new byte[5];
        header[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    private static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        return [.. Header(0, (uint)payload.Length), .. payload];
    }

    private static HttpClient CreateClient() =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = TimeSpan.FromSeconds(20),
        };

    private static HttpRequestMessage CreateRequest(GrpcServerHost server, string path, HttpContent? content, string? contentType = "application/grpc", HttpMethod? method = null, (string Name, string Value)[]? headers = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Post, new Uri(server.Address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (content is not null && contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("content-type", contentType);
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>POSTs <paramref name="body"/> (then END_STREAM) and reads the whole response.</summary>
    private static async Task<RawResponse> SendAsync(GrpcServerHost server, byte[] body, string path = UnaryPath, string? contentType = "application/grpc", (string Name, string Value)[]? headers = null)
    {
        using var client = CreateClient();
        using var request = CreateRequest(server, path, new ByteArrayContent(body), contentType, headers: headers);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        return await RawResponse.ReadAsync(response);
    }

    private static void AssertGrpcStatus(RawResponse response, StatusCode expected)
    {
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.GrpcStatus.HasValue, "the response has no grpc-status");
        Assert.True((int)expected == response.GrpcStatus, $"expected {expected}, got {(StatusCode)response.GrpcStatus!.Value}: {response.GrpcMessage}");
    }

    /// <summary>A normal unary call through our client still succeeds.</summary>
    private static async Task AssertServesAsync(GrpcServerHost server)
    {
        using var channel = GrpcChannel.ForAddress(server.Address);
        var payload = ByteString.CopyFromUtf8("still serving");
        var reply = await channel.CallInvoker.AsyncUnaryCall(InteropMethods.Unary, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)), new EchoRequest { Payload = payload });
        Assert.Equal(payload, reply.Payload);
    }

    private static async Task AssertTrackedBidiServesAsync(GrpcServerHost server)
    {
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = channel.CallInvoker.AsyncDuplexStreamingCall(TrackedBidi, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest());
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal(i, call.ResponseStream.Current.Received);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? state = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"timed out waiting for {what} {state?.Invoke()}");
            await Task.Delay(20);
        }
    }

    /// <summary>The status line, headers, body and trailers of a raw response.</summary>
    private sealed class RawResponse
    {
        private RawResponse(HttpResponseMessage message, byte[] body)
        {
            HttpStatus = message.StatusCode;
            Headers = message.Headers.NonValidated.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            foreach (var h in message.Content.Headers.NonValidated)
            {
                Headers[h.Key.ToLowerInvariant()] = h.Value.ToString();
            }

            Trailers = message.TrailingHeaders.NonValidated.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            Body = body;
            TrailersOnly = Headers.ContainsKey("grpc-status");
            var source = TrailersOnly ? Headers : Trailers;
            GrpcStatus = source.TryGetValue("grpc-status", out var status) ? int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) : null;
            GrpcMessage = source.TryGetValue("grpc-message", out var text) ? text : null;
        }

        public HttpStatusCode HttpStatus { get; }

        public Dictionary<string, string> Headers { get; }

        public Dictionary<string, string> Trailers { get; }

        public byte[] Body { get; }

        public bool TrailersOnly { get; }

        public int? GrpcStatus { get; }

        public string? GrpcMessage { get; }

        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

        public static async Task<RawResponse> ReadAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsByteArrayAsync().WaitAsync(TimeSpan.FromSeconds(10));
            return new RawResponse(response, body);
        }
    }

    /// <summary>A request body that sends its first bytes, then stays open until released (or the request ends).</summary>
    private sealed class HeldOpenContent(byte[] first, Task release) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(first, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await release.WaitAsync(cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    /// <summary>Gzip framing for hand-made bodies.</summary>
    private static class MessageFramingForTests
    {
        public static byte[] FrameGzip(IMessage message)
        {
            var payload = message.ToByteArray();
            using var buffer = new MemoryStream();
            using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(payload);
            }

            var compressed = buffer.ToArray();
            return [.. Header(1, (uint)compressed.Length), .. compressed];
        }
    }

    /// <summary>A test-only duplex method that counts its handlers: started, running, cancelled.</summary>
    private sealed class Tracker
    {
        public int Started;
        public int Running;
        public int Cancelled;

        public System.Collections.Concurrent.ConcurrentQueue<string> Endings { get; } = new();

        public ServerServiceDefinition Create() => ServerServiceDefinition.CreateBuilder().AddMethod(TrackedBidi, HandleAsync).Build();

        public override string ToString() =>
            $"(started {Volatile.Read(ref Started)}, running {Volatile.Read(ref Running)}, cancelled {Volatile.Read(ref Cancelled)}; endings: {string.Join("; ", Endings.GroupBy(e => e).Select(g => $"{g.Count()} x {g.Key}"))})";

        private async Task HandleAsync(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
        {
            Interlocked.Increment(ref Started);
            Interlocked.Increment(ref Running);
            try
            {
                using var registration = context.CancellationToken.Register(() => Interlocked.Increment(ref Cancelled));
                await context.WriteResponseHeadersAsync(new Metadata { { "x-started", "1" } });
                var index = 0;
                while (await requests.MoveNext(context.CancellationToken))
                {
                    await responses.WriteAsync(new EchoReply { Received = index++ });
                }

                Endings.Enqueue("returned");
            }
            catch (Exception e)
            {
                Endings.Enqueue(e.GetType().Name + (e is RpcException r ? " " + r.StatusCode : string.Empty) + (context.CancellationToken.IsCancellationRequested ? " (token fired)" : " (token not fired)"));
                throw;
            }
            finally
            {
                Interlocked.Decrement(ref Running);
            }
        }
    }

    /// <summary>
    /// A minimal HTTP/2 client on a raw socket: preface, SETTINGS, HEADERS (HPACK literals without
    /// indexing), DATA, RST_STREAM; it answers SETTINGS and PING and can vanish abruptly (TCP RST).
    /// </summary>
    private sealed class RawHttp2Connection : IDisposable
    {
        private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, Continuation = 0x9;
        private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, Priority = 0x20;

        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly Dictionary<int, List<(byte Type, byte Flags, byte[] Payload, Dictionary<string, string>? Fields)>> _pending = [];

        // HPACK state is per connection: every header block is decoded, in order, as it arrives.
        private readonly MiniHpackDecoder _decoder = new();

        private RawHttp2Connection(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket, ownsSocket: false);
        }

        public static (string, string)[] GrpcRequestHeaders(GrpcServerHost server, string path) =>
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", $"127.0.0.1:{server.Port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ];

        public static async Task<RawHttp2Connection> ConnectAsync(int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var connection = new RawHttp2Connection(socket);
            await connection._stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
            await connection.WriteFrameAsync(Settings, 0, 0, []);
            return connection;
        }

        public Task SendHeadersAsync(int streamId, IEnumerable<(string Name, string Value)> fields)
        {
            var block = new MemoryStream();
            foreach (var (name, value) in fields)
            {
                block.WriteByte(0x00); // literal header field without indexing, new name
                WriteString(block, name);
                WriteString(block, value);
            }

            return WriteFrameAsync(Headers, EndHeaders, streamId, block.ToArray());
        }

        public Task SendDataAsync(int streamId, byte[] data, bool endStream) => WriteFrameAsync(Data, endStream ? EndStream : (byte)0, streamId, data);

        public Task SendRstStreamAsync(int streamId, uint errorCode)
        {
            var payload = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(payload, errorCode);
            return WriteFrameAsync(RstStream, 0, streamId, payload);
        }

        /// <summary>Waits for the response HEADERS of <paramref name="streamId"/> (the handler runs).</summary>
        public async Task WaitForResponseHeadersAsync(int streamId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                var (type, _, _, _) = await ReadStreamFrameAsync(streamId, timeout.Token);
                if (type == Headers)
                {
                    return;
                }
            }
        }

        /// <summary>Reads a whole response of <paramref name="streamId"/>: headers, DATA bytes, trailers (the status fields only, HPACK-decoded loosely).</summary>
        public async Task<(Dictionary<string, string> Headers, byte[] Data, Dictionary<string, string> Trailers)> ReadResponseAsync(int streamId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Dictionary<string, string>? headers = null;
            var trailers = new Dictionary<string, string>();
            var data = new MemoryStream();
            while (true)
            {
                var (type, flags, payload, fields) = await ReadStreamFrameAsync(streamId, timeout.Token);
                if (type == Headers)
                {
                    if (headers is null)
                    {
                        headers = fields!;
                    }
                    else
                    {
                        trailers = fields!;
                    }
                }
                else if (type == Data)
                {
                    data.Write(payload);
                }
                else if (type == RstStream)
                {
                    throw new InvalidOperationException($"stream {streamId} was reset with {BinaryPrimitives.ReadUInt32BigEndian(payload)}");
                }

                if ((flags & EndStream) != 0 && type is Headers or Data)
                {
                    return (headers ?? [], data.ToArray(), trailers);
                }
            }
        }

        /// <summary>Closes the socket with a TCP RST: no GOAWAY, no END_STREAM, nothing.</summary>
        public void Abort()
        {
            try
            {
                _socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }

            _socket.Close();
        }

        public void Dispose()
        {
            _stream.Dispose();
            _socket.Dispose();
        }

        private static byte[] HeaderBlock(byte flags, byte[] payload)
        {
            var start = 0;
            var end = payload.Length;
            if ((flags & Padded) != 0)
            {
                start = 1;
                end -= payload[0];
            }

            if ((flags & Priority) != 0)
            {
                start += 5;
            }

            return payload[start..end];
        }

        private static void WriteString(Stream block, string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            WriteInteger(block, 0x00, 7, bytes.Length); // H = 0: no Huffman
            block.Write(bytes);
        }

        private static void WriteInteger(Stream block, byte high, int prefixBits, int value)
        {
            var max = (1 << prefixBits) - 1;
            if (value < max)
            {
                block.WriteByte((byte)(high | value));
                return;
            }

            block.WriteByte((byte)(high | max));
            value -= max;
            while (value >= 128)
            {
                block.WriteByte((byte)(value % 128 + 128));
                value /= 128;
            }

            block.WriteByte((byte)value);
        }

        private async Task<(byte Type, byte Flags, byte[] Payload, Dictionary<string, string>? Fields)> ReadStreamFrameAsync(int streamId, CancellationToken cancellationToken)
        {
            if (_pending.TryGetValue(streamId, out var queued) && queued.Count > 0)
            {
                var first = queued[0];
                queued.RemoveAt(0);
                return first;
            }

            while (true)
            {
                var header = new byte[9];
                await _stream.ReadExactlyAsync(header, cancellationToken);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var type = header[3];
                var flags = header[4];
                var id = (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF);
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload, cancellationToken);
                var fields = type == Headers ? _decoder.Decode(HeaderBlock(flags, payload)) : null;
                if (type == Settings && (flags & Ack) == 0)
                {
                    await WriteFrameAsync(Settings, Ack, 0, []);
                }
                else if (type == Ping && (flags & Ack) == 0)
                {
                    await WriteFrameAsync(Ping, Ack, 0, payload);
                }
                else if (type == GoAway)
                {
                    throw new InvalidOperationException("the server sent GOAWAY");
                }
                else if (type == Continuation)
                {
                    throw new NotSupportedException("CONTINUATION frames are not supported by this minimal client");
                }
                else if (id == streamId)
                {
                    return (type, flags, payload, fields);
                }
                else if (id != 0)
                {
                    if (!_pending.TryGetValue(id, out var list))
                    {
                        _pending[id] = list = [];
                    }

                    list.Add((type, flags, payload, fields));
                }
            }
        }

        private async Task WriteFrameAsync(byte type, byte flags, int streamId, byte[] payload)
        {
            var frame = new byte[9 + payload.Length];
            frame[0] = (byte)(payload.Length >> 16);
            frame[1] = (byte)(payload.Length >> 8);
            frame[2] = (byte)payload.Length;
            frame[3] = type;
            frame[4] = flags;
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
            payload.CopyTo(frame, 9);
            await _stream.WriteAsync(frame);
        }
    }

    /// <summary>
    /// Just enough HPACK (RFC 7541) decoding for the server's responses: static and dynamic table and
    /// literals. Kestrel does not Huffman-encode; a Huffman string would come back as "?".
    /// </summary>
    private sealed class MiniHpackDecoder
    {
        private static readonly (string Name, string Value)[] StaticTable =
        [
            (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
            (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
            (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
            ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
            ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
            ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
            ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
            ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
            ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
            ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
            ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
            ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
            ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
        ];

        private readonly List<(string Name, string Value)> _dynamic = [];

        public Dictionary<string, string> Decode(byte[] block)
        {
            var fields = new Dictionary<string, string>();
            var i = 0;
            while (i < block.Length)
            {
                var b = block[i];
                if ((b & 0x80) != 0)
                {
                    var (name, value) = Lookup(ReadInteger(block, ref i, 7));
                    fields[name] = value;
                }
                else if ((b & 0xC0) == 0x40)
                {
                    var index = ReadInteger(block, ref i, 6);
                    var name = index == 0 ? ReadString(block, ref i) : Lookup(index).Name;
                    var value = ReadString(block, ref i);
                    _dynamic.Insert(0, (name, value));
                    fields[name] = value;
                }
                else if ((b & 0xE0) == 0x20)
                {
                    ReadInteger(block, ref i, 5); // dynamic table size update
                }
                else
                {
                    var index = ReadInteger(block, ref i, 4);
                    var name = index == 0 ? ReadString(block, ref i) : Lookup(index).Name;
                    fields[name] = ReadString(block, ref i);
                }
            }

            return fields;
        }

        private (string Name, string Value) Lookup(int index) =>
            index <= StaticTable.Length ? StaticTable[index - 1] : _dynamic[index - StaticTable.Length - 1];

        private static int ReadInteger(byte[] block, ref int i, int prefixBits)
        {
            var max = (1 << prefixBits) - 1;
            var value = block[i++] & max;
            if (value < max)
            {
                return value;
            }

            var shift = 0;
            byte b;
            do
            {
                b = block[i++];
                value += (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            return value;
        }

        private static string ReadString(byte[] block, ref int i)
        {
            var huffman = (block[i] & 0x80) != 0;
            var length = ReadInteger(block, ref i, 7);
            var bytes = block.AsSpan(i, length);
            i += length;
            return huffman ? "?" : Encoding.ASCII.GetString(bytes);
        }
    }
}
