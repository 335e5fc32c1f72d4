namespace PeerDistill.Core.Telemetry;

/// <summary>
/// The attribute (tag) keys PeerDistill's spans and metrics carry, in one place. Metric tags are
/// limited to the low-cardinality ones (cohort, run, peer, worker, status); step numbers appear on
/// spans only.
/// </summary>
public static class TelemetryAttributes
{
    /// <summary>The cohort's name.</summary>
    public const string Cohort = "peerdistill.cohort";

    /// <summary>The run id.</summary>
    public const string Run = "peerdistill.run";

    /// <summary>The peer's name within its cohort.</summary>
    public const string Peer = "peerdistill.peer";

    /// <summary>The peer's model (spec name).</summary>
    public const string Model = "peerdistill.model";

    /// <summary>The device a peer trains on (<c>cpu</c>, <c>cuda:N</c>).</summary>
    public const string Device = "peerdistill.device";

    /// <summary>The activation generation of a peer (1 for the first placement, +1 per re-activation).</summary>
    public const string Generation = "peerdistill.generation";

    /// <summary>The global training step (0-based).</summary>
    public const string Step = "peerdistill.step";

    /// <summary>The epoch (0-based).</summary>
    public const string Epoch = "peerdistill.epoch";

    /// <summary>The step a peer (re)starts at.</summary>
    public const string StartStep = "peerdistill.start_step";

    /// <summary>Why a step was traced: <c>every</c> (every Nth step) or <c>slow</c> (slower than the threshold; its spans were made after it ended).</summary>
    public const string SampledBy = "peerdistill.step.sampled_by";

    /// <summary>The teachers a learner waited for at a step.</summary>
    public const string Teachers = "peerdistill.teachers";

    /// <summary>The teachers whose logits a learner got at a step.</summary>
    public const string TeachersArrived = "peerdistill.teachers.arrived";

    /// <summary>The peer that receives a frame.</summary>
    public const string Receiver = "peerdistill.receiver";

    /// <summary>The peer that sent a frame.</summary>
    public const string Sender = "peerdistill.sender";

    /// <summary>The worker (silo name) of a process or a placement.</summary>
    public const string Worker = "peerdistill.worker";

    /// <summary>A peer's state (<c>running</c>, <c>stalled</c>, ...).</summary>
    public const string State = "peerdistill.state";

    /// <summary>The gRPC status code a frame was refused with.</summary>
    public const string StatusCode = "rpc.grpc.status_code";

    /// <summary>The batch size of a step.</summary>
    public const string BatchSize = "peerdistill.batch_size";

    /// <summary>The size of a checkpoint in bytes.</summary>
    public const string Bytes = "peerdistill.bytes";

    /// <summary>What an evaluation measured (<c>validation</c>, <c>test</c>).</summary>
    public const string Split = "peerdistill.split";

    /// <summary>Why a placement failed.</summary>
    public const string Reason = "peerdistill.reason";
}
