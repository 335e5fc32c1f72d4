using Google.Protobuf;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cli.Tests;

/// <summary>Who a fuzzed frame pretends to come from and go to, and what the receiver checks it against.</summary>
/// <param name="Current">The step the receiver is at (from Probe); steps well ahead of it or behind it are forged.</param>
internal sealed record FrameTarget(string Cohort, string Run, string Receiver, string Teacher, ulong TeacherGeneration, long Current, long TotalSteps, Func<long, int> BatchAt, int Classes);

/// <summary>
/// Logit frames with one to three defects each, as a script that speaks the protos might send:
/// wrong names, forged or stale generations, steps outside the run, behind the receiver or far
/// ahead of the teacher, wrong shapes, dtypes or byte counts, non-finite or huge values. None is a
/// perfect impersonation of the teacher (a frame no receiver can tell from the real one, which is
/// the access-control issue's to stop): every one must be refused. Seeded.
/// </summary>
internal sealed class FrameFuzzer(int seed)
{
    /// <summary>How many defect kinds <see cref="Next"/> draws from.</summary>
    public const int Kinds = 9;

    private readonly Random _random = new(seed);

    /// <summary>A frame for <paramref name="t"/> and the defects it carries (for messages).</summary>
    public (LogitsFrame Frame, string Defects) Next(FrameTarget t)
    {
        var step = _random.NextInt64(0, t.TotalSteps);
        var batch = t.BatchAt(step);
        var frame = new LogitsFrame
        {
            Cohort = t.Cohort,
            Run = t.Run,
            Sender = t.Teacher,
            Receiver = t.Receiver,
            Generation = t.TeacherGeneration,
            Step = step,
            Epoch = 0,
            BatchIndex = 0,
            Dtype = WireDType.Fp32,
            Values = Floats(batch * t.Classes, () => (float)(_random.NextDouble() * 20 - 10)),
        };
        frame.Shape.Add(batch);
        frame.Shape.Add(t.Classes);

        var defects = new List<string>();
        var count = 1 + _random.Next(3);
        while (defects.Count < count)
        {
            // Names are checked first; most defects go deeper, to the generation, step, shape and values.
            defects.Add(Apply(frame, t, _random.Next(10) < 3 ? _random.Next(4) : 4 + _random.Next(Kinds - 4)));
        }

        return (frame, string.Join(", ", defects));
    }

    /// <summary>Bytes that are not a LogitsFrame, or are one cut short.</summary>
    public byte[] Garbage(LogitsFrame sample)
    {
        var bytes = sample.ToByteArray();
        return _random.Next(3) switch
        {
            0 => bytes[..Math.Max(1, _random.Next(bytes.Length))],
            1 => Enumerable.Range(0, 1 + _random.Next(512)).Select(_ => (byte)_random.Next(256)).ToArray(),
            _ => [.. bytes.Take(10), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, .. bytes.Skip(10)],
        };
    }

    private string Apply(LogitsFrame f, FrameTarget t, int kind)
    {
        switch (kind)
        {
            case 0:
                f.Cohort = Pick("other", string.Empty, new string('c', 5000), "smoke\n", "\U0001F600");
                return $"cohort '{Short(f.Cohort)}'";
            case 1:
                f.Run = Pick("old-run", string.Empty, "../..", t.Run + "x");
                return $"run '{Short(f.Run)}'";
            case 2:
                f.Receiver = Pick("nobody", string.Empty, t.Teacher, new string('r', 300));
                return $"receiver '{Short(f.Receiver)}'";
            case 3:
                f.Sender = Pick("mallory", string.Empty, t.Receiver, t.Teacher.ToUpperInvariant());
                return $"sender '{Short(f.Sender)}'";
            case 4:
                f.Generation = _random.Next(5) switch
                {
                    0 => 0,
                    1 => t.TeacherGeneration + 1,
                    2 => t.TeacherGeneration + 1000,
                    3 => ulong.MaxValue,
                    _ => t.TeacherGeneration > 1 ? t.TeacherGeneration - 1 : 0,
                };
                return $"generation {f.Generation}";
            case 5:
                f.Step = _random.Next(6) switch
                {
                    0 => -1 - _random.NextInt64(0, long.MaxValue / 2),
                    1 => t.TotalSteps + _random.NextInt64(0, 1000),
                    2 => long.MaxValue,
                    3 => t.Current >= 5 ? _random.NextInt64(0, t.Current - 4) : -1,
                    _ => Math.Min(t.TotalSteps - 1, t.Current + 20 + _random.NextInt64(0, 200)) is var ahead && ahead > t.Current + 19 ? ahead : t.TotalSteps,
                };
                return $"step {f.Step}";
            case 6:
                var batch = f.Shape.Count > 0 ? f.Shape[0] : 1;
                f.Shape.Clear();
                f.Shape.AddRange(_random.Next(6) switch
                {
                    0 => [],
                    1 => [batch * t.Classes],
                    2 => [batch, t.Classes, 1],
                    3 => [batch + 1, t.Classes],
                    4 => [batch, t.Classes + 1],
                    _ => [-batch, -t.Classes],
                });
                return $"shape [{string.Join(", ", f.Shape)}]";
            case 7:
                f.Dtype = Pick(WireDType.Unspecified, WireDType.Fp16, (WireDType)99);
                return $"dtype {f.Dtype}";
            default:
                var n = f.Values.Length / 4;
                var bad = _random.Next(7);
                f.Values = bad switch
                {
                    0 => ByteString.CopyFrom(f.Values.Span[..Math.Max(0, f.Values.Length - 4)]),
                    1 => ByteString.CopyFrom([.. f.Values.ToByteArray(), 0, 0, 0, 0]),
                    2 => ByteString.Empty,
                    3 => Poison(f.Values, n, float.NaN),
                    4 => Poison(f.Values, n, _random.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity),
                    5 => Poison(f.Values, n, _random.Next(2) == 0 ? 3e38f : -3e38f),
                    _ => Poison(f.Values, n, 2e6f),
                };
                return bad switch { 0 => "values short", 1 => "values long", 2 => "no values", 3 => "NaN", 4 => "infinity", 5 => "huge", _ => "beyond the bound" };
        }
    }

    private ByteString Poison(ByteString values, int count, float value)
    {
        if (count == 0)
        {
            return values;
        }

        var floats = new float[count];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(values.Span).CopyTo(floats);
        floats[_random.Next(count)] = value;
        return ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
    }

    private ByteString Floats(int count, Func<float> next)
    {
        var floats = new float[count];
        for (var i = 0; i < count; i++)
        {
            floats[i] = next();
        }

        return ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
    }

    private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];

    private static string Short(string s) => s.Length > 20 ? s[..20] + "..." : s;
}
