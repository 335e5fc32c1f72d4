using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>
/// What an outsider with a script could send to the cohort API over gRPC: thousands of generated
/// requests to every method of CohortService, each a well-formed message whose every field is drawn
/// from hostile values (huge, negative, NaN, out-of-range enums, odd and oversize strings, long
/// repeated lists), or such a message's bytes mutated. A well-formed message is never answered
/// UNKNOWN or INTERNAL (each refusal names its field); bytes that are no message get INTERNAL from
/// the transport, never UNKNOWN; the process never dies and answers a valid call afterwards.
/// </summary>
public sealed class GeneratedGrpcInputTests(RestCoordinator coordinator, ITestOutputHelper output) : IClassFixture<RestCoordinator>
{
    private const int Calls = 3000;

    private static readonly string[] Strings =
    [
        "", "smoke", "latest", "pair", "a", "..", "../../etc/passwd", "\0", "\u202e", "\ud7ff", new string('x', 5000), new string('y', 300_000), "a b", "*", "%2e%2e",
        "cohort: x\npeers: []", "{\"distillation\": {\"alpha\": 1e308}}", "{lr_scale: -1}", "{data: {batch_size: 2}}", "&a [*a, *a]", new string('[', 20_000), "yaml", "json", "xml",
    ];

    private static readonly long[] Integers = [0, 1, -1, 2, 7, 100, 100_000, 100_001, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, long.MaxValue, long.MinValue];

    private static readonly double[] Doubles = [0, -0.0, 1, -1, 1e308, -1e308, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon];

    [Fact]
    public async Task GeneratedCalls_NeverUnknown_WellFormedNeverInternal_TheServiceAnswersAValidCallAfterwards()
    {
        var random = new Random(20261207);
        var bytes = new Marshaller<byte[]>(b => b, b => b);
        var methods = CohortService.Descriptor.Methods;
        var statuses = new Dictionary<string, int>();
        using var channel = coordinator.Cluster.Coordinator();
        var invoker = channel.CreateCallInvoker();
        for (var i = 0; i < Calls; i++)
        {
            var method = methods[random.Next(methods.Count)];
            var message = Generate(method.InputType, random, depth: 0);
            var payload = message.ToByteArray();
            var mutated = random.Next(4) == 0;
            if (mutated)
            {
                payload = Mutate(payload, random);
            }

            var what = $"call {i}: {method.Name}{(mutated ? " (mutated bytes)" : string.Empty)} {message}";
            var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(5));
            StatusCode code;
            string detail;
            try
            {
                if (method.IsServerStreaming)
                {
                    using var call = invoker.AsyncServerStreamingCall(new Method<byte[], byte[]>(MethodType.ServerStreaming, CohortService.Descriptor.FullName, method.Name, bytes, bytes), null, options, payload);
                    for (var n = 0; n < 3 && await call.ResponseStream.MoveNext(); n++)
                    {
                    }
                }
                else
                {
                    using var call = invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, CohortService.Descriptor.FullName, method.Name, bytes, bytes), null, options, payload);
                    await call.ResponseAsync;
                }

                (code, detail) = (StatusCode.OK, string.Empty);
            }
            catch (RpcException e)
            {
                (code, detail) = (e.StatusCode, e.Status.Detail);
            }

            var key = $"{code}";
            statuses[key] = statuses.GetValueOrDefault(key) + 1;

            Assert.True(code != StatusCode.Unknown, $"{Shorten(what)}: UNKNOWN: {detail}");
            Assert.True(mutated || code != StatusCode.Internal, $"{Shorten(what)}: INTERNAL: {detail}");
            Assert.True(code != StatusCode.Unavailable, $"{Shorten(what)}: UNAVAILABLE (an idle service; a status message too long for the client's header limit reads so): {Shorten(detail)}");
            if (code is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                Assert.False(string.IsNullOrWhiteSpace(detail), $"{Shorten(what)}: {code} without a message");
            }
        }

        output.WriteLine($"{Calls} generated calls: " + string.Join(", ", statuses.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} x{kv.Value}")));
        Assert.False(coordinator.Cluster.CoordinatorProcess.HasExited);
        var client = new CohortService.CohortServiceClient(channel);
        var submitted = await client.SubmitAsync(new SubmitCohortRequest { SpecText = TestSpecs.Pair.Replace("cohort: pair", "cohort: after-the-grpc-storm", StringComparison.Ordinal) }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal("after-the-grpc-storm", (await client.GetCohortAsync(new GetCohortRequest { Cohort = submitted.Cohort, Run = submitted.Run })).Cohort);
        Assert.True(statuses.GetValueOrDefault(nameof(StatusCode.InvalidArgument)) + statuses.GetValueOrDefault(nameof(StatusCode.NotFound)) > Calls / 3, "most generated calls are refused as invalid or unknown");
    }

    /// <summary>A message of <paramref name="type"/> with a random subset of its fields set to hostile values.</summary>
    private static IMessage Generate(MessageDescriptor type, Random random, int depth)
    {
        var message = type.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (random.Next(3) == 0 || (field.FieldType == FieldType.Message && depth >= 3))
            {
                continue;
            }

            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                var count = random.Next(8) == 0 ? random.Next(100, 2000) : random.Next(4);
                for (var n = 0; n < count; n++)
                {
                    list.Add(Value(field, random, depth));
                }
            }
            else
            {
                field.Accessor.SetValue(message, Value(field, random, depth));
            }
        }

        return message;
    }

    private static object Value(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.String => Strings[random.Next(Strings.Length)],
        FieldType.Bytes => ByteString.CopyFrom(Enumerable.Range(0, random.Next(64)).Select(_ => (byte)random.Next(256)).ToArray()),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Integers[random.Next(Integers.Length)],
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)Integers[random.Next(Integers.Length)],
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => unchecked((int)Integers[random.Next(Integers.Length)]),
        FieldType.UInt32 or FieldType.Fixed32 => unchecked((uint)Integers[random.Next(Integers.Length)]),
        FieldType.Double => Doubles[random.Next(Doubles.Length)],
        FieldType.Float => (float)Doubles[random.Next(Doubles.Length)],
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, random.Next(-3, 12)),
        FieldType.Message => Generate(field.MessageType, random, depth + 1),
        _ => throw new NotSupportedException($"field type {field.FieldType} of {field.FullName}"),
    };

    /// <summary>The bytes with one of: a byte flipped, cut short, garbage appended, or all replaced.</summary>
    private static byte[] Mutate(byte[] payload, Random random)
    {
        switch (random.Next(4))
        {
            case 0 when payload.Length > 0:
                var flipped = payload.ToArray();
                flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                return flipped;
            case 1 when payload.Length > 1:
                return payload[..random.Next(1, payload.Length)];
            case 2:
                return [.. payload, .. Enumerable.Range(0, random.Next(1, 32)).Select(_ => (byte)random.Next(256))];
            default:
                return [.. Enumerable.Range(0, random.Next(1, 256)).Select(_ => (byte)random.Next(256))];
        }
    }

    private static string Shorten(string text) => text.Length <= 600 ? text : text[..600] + "...";
}
