using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Exchange;

/// <summary>
/// The form logits take between peers (<c>exchange.wire_dtype</c>, <c>exchange.topk</c>,
/// <c>exchange.topk_rest</c>). Every exchange applies the same lossy transform
/// (<see cref="Apply"/>), so that a peer's numbers do not depend on whether its teachers run in its
/// process, in another one, or embedded: fp16 rounds every logit to half precision, top-k keeps each
/// row's k most likely classes (<see cref="SparseLogits"/>).
/// </summary>
/// <param name="Encoding">fp32, fp16 or top-k.</param>
/// <param name="K">Top-k: the classes kept per row; 0 for dense encodings.</param>
/// <param name="Rest">Top-k: how the other classes are filled in.</param>
public sealed record LogitWireFormat(LogitEncoding Encoding, int K = 0, RestMass Rest = RestMass.Uniform)
{
    /// <summary>Exact fp32 logits.</summary>
    public static readonly LogitWireFormat Fp32 = new(LogitEncoding.Fp32);

    /// <summary>The form a spec's <c>exchange</c> section names (already validated).</summary>
    public static LogitWireFormat From(ExchangeSpec exchange)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        return exchange.WireDType switch
        {
            ExchangeSpec.WireFp32 => Fp32,
            ExchangeSpec.WireFp16 => new LogitWireFormat(LogitEncoding.Fp16),
            ExchangeSpec.WireTopK => new LogitWireFormat(LogitEncoding.TopK, exchange.TopK, exchange.TopKRest == ExchangeSpec.RestDrop ? RestMass.Drop : RestMass.Uniform),
            _ => throw new ArgumentException($"exchange.wire_dtype: unknown wire dtype '{exchange.WireDType}' (known: {ExchangeSpec.WireFp32}, {ExchangeSpec.WireFp16}, {ExchangeSpec.WireTopK})", nameof(exchange)),
        };
    }

    /// <summary>Whether <see cref="Apply"/> changes nothing.</summary>
    public bool IsExact => Encoding == LogitEncoding.Fp32;

    /// <summary>
    /// What a receiver gets for row-major [rows, <paramref name="classes"/>] logits: the same array
    /// for fp32, the values rounded to half precision for fp16, the dense reconstruction of the top-k
    /// log-probabilities for top-k.
    /// </summary>
    public float[] Apply(float[] logits, int classes)
    {
        ArgumentNullException.ThrowIfNull(logits);
        switch (Encoding)
        {
            case LogitEncoding.Fp32:
                return logits;
            case LogitEncoding.Fp16:
                var rounded = new float[logits.Length];
                for (var i = 0; i < logits.Length; i++)
                {
                    rounded[i] = (float)(Half)logits[i];
                }

                return rounded;
            default:
                return SparseLogits.RoundTrip(logits, classes, K, Rest);
        }
    }

    public override string ToString() => Encoding switch
    {
        LogitEncoding.Fp32 => ExchangeSpec.WireFp32,
        LogitEncoding.Fp16 => ExchangeSpec.WireFp16,
        _ => $"{ExchangeSpec.WireTopK} (k {K}, rest {(Rest == RestMass.Drop ? ExchangeSpec.RestDrop : ExchangeSpec.RestUniform)})",
    };
}
