using Google.Protobuf;
using Google.Protobuf.Collections;
using PeerDistill.Tests.Shared.Otlp.Proto.Common;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>OTLP's wire values (ids, times, attributes) as the receiver's records hold them.</summary>
internal static class OtlpValues
{
    /// <summary>Lower-case hex of an id (empty for an absent one), as <c>ActivityTraceId.ToHexString()</c> writes it.</summary>
    public static string Hex(ByteString id) => id.IsEmpty ? string.Empty : Convert.ToHexStringLower(id.Span);

    /// <summary>A time in nanoseconds since the Unix epoch, truncated to .NET's 100 ns ticks.</summary>
    public static DateTimeOffset Time(ulong unixNanoseconds) => DateTimeOffset.UnixEpoch.AddTicks((long)(unixNanoseconds / 100));

    /// <summary>Attributes as a dictionary (a repeated key wins with its last value: the specification forbids repeats, the receiver does not fail on them).</summary>
    public static IReadOnlyDictionary<string, object?> Attributes(RepeatedField<KeyValue> attributes)
    {
        var result = new Dictionary<string, object?>(attributes.Count, StringComparer.Ordinal);
        foreach (var attribute in attributes)
        {
            result[attribute.Key] = Value(attribute.Value);
        }

        return result;
    }

    /// <summary>True when <paramref name="attributes"/> has every pair of <paramref name="expected"/>, integers compared by value.</summary>
    public static bool Contains(IReadOnlyDictionary<string, object?> attributes, IEnumerable<(string Key, object? Value)> expected) =>
        expected.All(e => attributes.TryGetValue(e.Key, out var value) && Same(value, e.Value));

    private static bool Same(object? received, object? expected) => (received, expected) switch
    {
        (long r, int e) => r == e,
        (long r, short e) => r == e,
        (long r, byte e) => r == e,
        (long r, uint e) => r == e,
        _ => Equals(received, expected),
    };

    private static object? Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Select(Value).ToArray(),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.ToByteArray(),
        _ => null,
    };
}
