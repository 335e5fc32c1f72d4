using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// An outsider with a script: raw HTTP/2 (h2c) requests whose gRPC bytes are wrong, POSTed to the
/// coordinator's Submit (unary) and a worker's Exchange (a request stream), real processes on
/// loopback. Each is answered with the status that names what was wrong (never UNKNOWN), neither
/// process logs a failure or a stack trace for it, and both serve a legitimate call afterwards.
/// </summary>
public sealed class MalformedBytesTests : IClassFixture<MalformedBytesTests.Processes>
{
    private const string Submit = "/peerdistill.v1.CohortService/Submit";
    private const string Exchange = "/peerdistill.v1.PeerExchange/Exchange";
    private const int Limit = GrpcServiceHostOptions.DefaultMaxReceiveMessageSize;

    private readonly Processes _processes;
    private readonly ITestOutputHelper _output;

    public MalformedBytesTests(Processes processes, ITestOutputHelper output)
    {
        _processes = processes;
        _output = output;
        processes.Output.Target = output;
    }

    [Theory]
    [InlineData("coordinator", Submit, "length-4GiB", StatusCode.ResourceExhausted, "4294967295")]
    [InlineData("coordinator", Submit, "length-limit+1", StatusCode.ResourceExhausted, "4194305")]
    [InlineData("coordinator", Submit, "compressed-flag-7", StatusCode.Internal, "compressed flag 7")]
    [InlineData("coordinator", Submit, "compressed-no-encoding", StatusCode.Internal, "grpc-encoding")]
    [InlineData("coordinator", Submit, "truncated", StatusCode.Internal, "10 of its 100 bytes")]
    [InlineData("coordinator", Submit, "invalid-wire-type", StatusCode.Internal, "not a peerdistill.v1.SubmitCohortRequest")]
    [InlineData("coordinator", Submit, "field-past-the-end", StatusCode.Internal, "not a peerdistill.v1.SubmitCohortRequest")]
    [InlineData("coordinator", Submit, "gzip-not-gzip", StatusCode.Internal, "not gzip data")]
    [InlineData("coordinator", Submit, "gzip-beyond-the-limit", StatusCode.ResourceExhausted, "decompresses (gzip) to more than the 4194304-byte limit")]
    [InlineData("coordinator", Submit, "gzip-invalid-wire-type", StatusCode.Internal, "not a peerdistill.v1.SubmitCohortRequest")]
    [InlineData("coordinator", Submit, "unknown-encoding", StatusCode.Unimplemented, "snappy")]
    [InlineData("coordinator", Submit, "empty", StatusCode.Internal, "no message")]
    [InlineData("coordinator", Submit, "two-messages", StatusCode.Internal, "more than one message")]
    [InlineData("worker", Exchange, "length-4GiB", StatusCode.ResourceExhausted, "4294967295")]
    [InlineData("worker", Exchange, "length-limit+1", StatusCode.ResourceExhausted, "4194305")]
    [InlineData("worker", Exchange, "compressed-flag-7", StatusCode.Internal, "compressed flag 7")]
    [InlineData("worker", Exchange, "compressed-no-encoding", StatusCode.Internal, "grpc-encoding")]
    [InlineData("worker", Exchange, "truncated", StatusCode.Internal, "10 of its 100 bytes")]
    [InlineData("worker", Exchange, "invalid-wire-type", StatusCode.Internal, "not a peerdistill.v1.LogitsFrame")]
    [InlineData("worker", Exchange, "field-past-the-end", StatusCode.Internal, "not a peerdistill.v1.LogitsFrame")]
    [InlineData("worker", Exchange, "gzip-not-gzip", StatusCode.Internal, "not gzip data")]
    [InlineData("worker", Exchange, "gzip-beyond-the-limit", StatusCode.ResourceExhausted, "decompresses (gzip) to more than the 4194304-byte limit")]
    [InlineData("worker", Exchange, "gzip-invalid-wire-type", StatusCode.Internal, "not a peerdistill.v1.LogitsFrame")]
    [InlineData("worker", Exchange, "frame-then-compressed-flag-7", StatusCode.Internal, "compressed flag 7")]
    [InlineData("worker", Exchange, "frame-then-truncated", StatusCode.Internal, "10 of its 100 bytes")]
    public async Task MalformedRequestBytes_AnsweredWithTheirStatus_NoFailureLogged_AndTheProcessServesOn(string who, string path, string @case, StatusCode expected, string named)
    {
        var cluster = _processes.Cluster;
        var address = who == "coordinator" ? cluster.Url : _processes.WorkerAddress;
        var (body, encoding) = Body(@case);
        var mark = cluster.LineCount;

        // Exchange calls carry a genuine ticket of what their frame claims (the operator signs it): the
        // bytes that follow are the transport's to refuse, not the ticket check's.
        var (status, message) = await _processes.PostAsync(address, path, body, encoding, who == "worker" ? _processes.Ticket : null);
        _output.WriteLine($"{who} {path} {@case}: {status}: {message}");

        // The process still serves a legitimate call (and its log has caught up with the bad one).
        using (var channel = GrpcChannels.ForAddress(address, who == "coordinator" ? cluster.Token : null))
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            if (who == "coordinator")
            {
                await new CohortService.CohortServiceClient(channel).ListCohortsAsync(new ListCohortsRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            }
            else
            {
                await new PeerExchange.PeerExchangeClient(channel).ProbeAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            }
        }

        // Its one line about the bad request is the moment to look at what it printed (an encoding
        // the server lacks is Grpc.AspNetCore's own answer, not logged: nothing to wait for then).
        var process = who == "coordinator" ? "coordinator" : Processes.Worker;
        bool Named(string l) => l.StartsWith("warn:", StringComparison.Ordinal) && l.Contains(path, StringComparison.Ordinal) && l.Contains(named, StringComparison.Ordinal);
        var waited = Stopwatch.StartNew();
        while (expected != StatusCode.Unimplemented && !cluster.LinesSince(mark, process).Any(Named) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        var printed = cluster.LinesSince(mark, process);
        var failures = printed.Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal) || l.Contains("   at ", StringComparison.Ordinal)).ToList();
        Assert.True(status == expected, $"{@case}: {status} ({message}), expected {expected}");
        Assert.Contains(named, message, StringComparison.Ordinal);
        Assert.True(failures.Count == 0, $"{@case}: the {who} logged\n{string.Join('\n', failures)}");
        if (@case.StartsWith("frame-then-", StringComparison.Ordinal))
        {
            // The frame before the bad bytes was read and answered (refused: its cohort is not hosted) first.
            Assert.Contains(printed, l => l.Contains("'no-such-cohort'", StringComparison.Ordinal));
        }

        if (expected != StatusCode.Unimplemented)
        {
            // One line names the method and the problem (an encoding the server lacks is Grpc.AspNetCore's own answer, not logged).
            Assert.Single(printed, Named);
        }
    }

    /// <summary>The request body of a case, and the grpc-encoding header it sends (none: null).</summary>
    private static (byte[] Body, string? Encoding) Body(string @case)
    {
        // A message that parses as either method's request: field 1 (a string in both), empty.
        byte[] valid = [0x0A, 0x00];
        var frame = new LogitsFrame { Cohort = "no-such-cohort", Run = "r", Sender = "a", Receiver = "b", Generation = 1 }.ToByteArray();
        return @case switch
        {
            "length-4GiB" => ([0, 0xFF, 0xFF, 0xFF, 0xFF, .. new byte[10]], null),
            "length-limit+1" => (Message(0, new byte[Limit + 1]), null),
            "compressed-flag-7" => (Message(7, valid), null),
            "compressed-no-encoding" => (Message(1, valid), null),
            "truncated" => (Header(0, 100).Concat(new byte[10]).ToArray(), null),
            // Field 1 with wire type 7, which does not exist.
            "invalid-wire-type" => (Message(0, [0x0F, 0x00]), null),
            // Field 1, length-delimited, 100 bytes long, two of them there.
            "field-past-the-end" => (Message(0, [0x0A, 0x64, 0x61, 0x62]), null),
            "gzip-not-gzip" => (Message(1, valid), "gzip"),
            // About 4 KiB on the wire, one byte more than the limit once decompressed.
            "gzip-beyond-the-limit" => (Message(1, Gzip(new byte[Limit + 1])), "gzip"),
            "gzip-invalid-wire-type" => (Message(1, Gzip([0x0F, 0x00])), "gzip"),
            "unknown-encoding" => (Message(1, valid), "snappy"),
            "empty" => ([], null),
            "two-messages" => ([.. Message(0, valid), .. Message(0, valid)], null),
            "frame-then-compressed-flag-7" => ([.. Message(0, frame), .. Message(7, valid)], null),
            "frame-then-truncated" => ([.. Message(0, frame), .. Header(0, 100), .. new byte[10]], null),
            _ => throw new ArgumentOutOfRangeException(nameof(@case), @case, null),
        };
    }

    private static byte[] Message(byte flag, byte[] payload) => [.. Header(flag, (uint)payload.Length), .. payload];

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    private static byte[] Header(byte flag, uint length)
    {
        var header = new byte[5];
        header[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    /// <summary>A coordinator and one worker, started once for the class, and a raw HTTP/2 client.</summary>
    public sealed class Processes : IAsyncLifetime
    {
        internal const string Worker = "w1";

        private readonly TempDirectory _dir = new("peerdistill-bytes-");
        private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

        internal ForwardingOutput Output { get; } = new();

        internal Cluster Cluster { get; private set; } = null!;

        internal string WorkerAddress { get; private set; } = string.Empty;

        /// <summary>A valid exchange ticket of the frame the Exchange cases send (sender 'a' of 'no-such-cohort' run 'r', generation 1).</summary>
        internal string Ticket { get; private set; } = string.Empty;

        public async Task InitializeAsync()
        {
            Cluster = await Cluster.StartAsync(_dir.Path, [], Output);
            Cluster.StartWorker(Worker, slots: 2);
            WorkerAddress = await Cluster.WorkerAddressAsync(Worker);

            // A worker checks tickets with the cluster's key, which it fetches when it first starts a
            // peer: one short cohort runs on it first.
            var spec = Path.Combine(_dir.Path, "pair.yaml");
            await File.WriteAllTextAsync(spec, TestSpecs.Pair.Replace("epochs: 200", "epochs: 1", StringComparison.Ordinal));
            var submit = CliProcess.RunIn(_dir.Path, "submit", spec, "--coordinator", Cluster.Url);
            Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
            var done = await Cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(3));
            Assert.Equal(CohortState.Completed, done.State);
            var codec = new PeerDistill.Cluster.Exchange.TicketCodec(await ClusterTickets.ReadKeyAsync(Path.Combine(_dir.Path, "data"), TimeSpan.FromSeconds(30)));
            Ticket = codec.Issue("no-such-cohort", "r", "a", 1);
        }

        public async Task DisposeAsync()
        {
            _http.Dispose();
            await Cluster.DisposeAsync();
            _dir.Dispose();
        }

        /// <summary>POSTs <paramref name="body"/> as a gRPC request and returns the call's grpc-status and grpc-message.</summary>
        internal async Task<(StatusCode Status, string Message)> PostAsync(string address, string path, byte[] body, string? encoding, string? ticket = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(address), path))
            {
                // h2c with prior knowledge: HTTP/2 over plain TCP, nothing else.
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(body),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            if (address == Cluster.Url)
            {
                // The coordinator's API checks credentials before it reads a request's bytes.
                request.Headers.TryAddWithoutValidation("authorization", "Bearer " + Cluster.Token);
            }

            if (encoding is not null)
            {
                request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
            }

            if (ticket is not null)
            {
                request.Headers.TryAddWithoutValidation(PeerDistill.Cluster.Exchange.ExchangeTicket.Header, ticket);
            }

            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
            // A call that sent no message answers in the headers alone ("trailers-only"), any other in the trailers.
            var status = Value(response.TrailingHeaders, "grpc-status") ?? Value(response.Headers, "grpc-status");
            Assert.NotNull(status);
            var message = Value(response.TrailingHeaders, "grpc-message") ?? Value(response.Headers, "grpc-message") ?? string.Empty;
            return ((StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(message));
        }

        private static string? Value(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
    }

    /// <summary>Where the processes' lines go: the output of the test that runs now.</summary>
    internal sealed class ForwardingOutput : ITestOutputHelper
    {
        private volatile ITestOutputHelper? _target;

        public ITestOutputHelper? Target
        {
            get => _target;
            set => _target = value;
        }

        public void WriteLine(string message) => _target?.WriteLine(message);

        public void WriteLine(string format, params object[] args) => _target?.WriteLine(format, args);
    }
}
