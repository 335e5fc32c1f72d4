namespace PeerDistill.Core.Exchange;

/// <summary>How logits travel between peers (<c>exchange.wire_dtype</c>).</summary>
public enum LogitEncoding
{
    /// <summary><c>fp32</c>: the logits as they are (exact).</summary>
    Fp32,

    /// <summary><c>fp16</c>: every logit rounded to IEEE 754 half precision.</summary>
    Fp16,

    /// <summary><c>topk</c>: per row, the k largest log-probabilities at T = 1 and their classes (see <see cref="SparseLogits"/>).</summary>
    TopK,
}
