using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>What a worker's exchange checks frames against, and how long it waits for teachers.</summary>
/// <param name="Cohort">The cohort name frames must carry.</param>
/// <param name="Run">The run id frames must carry.</param>
/// <param name="Classes">Classes per logits row.</param>
/// <param name="BatchSizeAt">The batch size of a step (the last batch of an epoch may be smaller).</param>
/// <param name="TotalSteps">Steps of the run; frames outside [0, TotalSteps) are refused.</param>
/// <param name="WireDType">The precision frames must use.</param>
/// <param name="StepTimeout">How long a peer waits for a live teacher's logits of a step before going on with the teachers present.</param>
/// <param name="Quorum">The fewest teachers that must be present for a peer to step.</param>
/// <param name="Window">How many steps ahead of the receiver a frame may be (the credit granted to senders).</param>
/// <param name="MaxStaleness">0: synchronous (wait for each step's logits); k &gt; 0: bounded staleness (never wait; use each teacher's freshest logits at most k steps old).</param>
/// <param name="MaxAbsLogit">The largest logit magnitude a frame may carry (exchange.max_abs_logit).</param>
/// <param name="TopK">Top-k frames: the classes each row must carry (exchange.topk); 0 for dense dtypes.</param>
/// <param name="TopKRest">Top-k frames: the rest mode they must name (exchange.topk_rest).</param>
/// <param name="NextFrameStep">The first step after a given one at which frames are sent (the next step; a federated run's next public step); null: the next step.</param>
public sealed record ExchangeSettings(
    string Cohort,
    string Run,
    int Classes,
    Func<long, int> BatchSizeAt,
    long TotalSteps,
    WireDType WireDType,
    TimeSpan StepTimeout,
    int Quorum,
    int Window = 64,
    int MaxStaleness = 0,
    double MaxAbsLogit = 1e6,
    int TopK = 0,
    Core.Exchange.RestMass TopKRest = Core.Exchange.RestMass.Uniform,
    Func<long, long>? NextFrameStep = null)
{
    /// <summary>
    /// How long a peer may wait for its teachers at one step before it says so: a warning in the
    /// worker's log naming the teachers it lacks (again every as long), and the state STALLED in its
    /// cohort's status until it steps.
    /// </summary>
    public static readonly TimeSpan StallWarningAfter = TimeSpan.FromSeconds(10);

    /// <summary>The form the frames carry logits in (what the sender applied, and the receiver reconstructs).</summary>
    public Core.Exchange.LogitWireFormat Format => WireDType switch
    {
        WireDType.Fp16 => new(Core.Exchange.LogitEncoding.Fp16),
        WireDType.Topk => new(Core.Exchange.LogitEncoding.TopK, TopK, TopKRest),
        _ => Core.Exchange.LogitWireFormat.Fp32,
    };

    /// <summary>The first step after <paramref name="step"/> at which a sender sends frames: a sender that skips no frame sends that one next.</summary>
    public long FrameAfter(long step) => NextFrameStep?.Invoke(step) ?? step + 1;

    /// <summary>The exchange policy these settings carry (the same rules as the embedded exchange).</summary>
    public Core.Exchange.ExchangePolicy Policy { get; } = new(StepTimeout, Quorum, MaxStaleness);
}
