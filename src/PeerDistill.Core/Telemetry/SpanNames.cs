namespace PeerDistill.Core.Telemetry;

/// <summary>The names of PeerDistill's spans (low-cardinality: what varies is in the attributes).</summary>
public static class SpanNames
{
    /// <summary>A cohort run, from its submission until every peer is placed (coordinator), or the whole embedded run.</summary>
    public const string CohortRun = "cohort.run";

    /// <summary>One activation (generation) of one peer, from its start or resume until it stops.</summary>
    public const string PeerActivation = "peer.activation";

    /// <summary>The steps of one epoch of one peer activation.</summary>
    public const string Epoch = "epoch";

    /// <summary>One training step (sampled).</summary>
    public const string Step = "step";

    /// <summary>Building the batch and the forward pass.</summary>
    public const string Forward = "forward";

    /// <summary>Handing the step's logits to the exchange; frames carry this span's context to the learners.</summary>
    public const string Publish = "publish";

    /// <summary>Waiting for the teachers' logits of the step; linked to each teacher's publish span.</summary>
    public const string ExchangeWait = "exchange.wait";

    /// <summary>The loss and its backward pass.</summary>
    public const string Backward = "backward";

    /// <summary>The optimizer's update.</summary>
    public const string Optimizer = "optimizer";

    /// <summary>Writing a checkpoint.</summary>
    public const string Checkpoint = "checkpoint";

    /// <summary>An evaluation on held-out data.</summary>
    public const string Evaluation = "evaluation";

    /// <summary>Placing a peer on a worker's slot (coordinator).</summary>
    public const string Placement = "peer.placement";
}
