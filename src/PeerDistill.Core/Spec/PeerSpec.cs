namespace PeerDistill.Core.Spec;

/// <summary>One peer (<c>peers[i]</c>).</summary>
public sealed record PeerSpec
{
    /// <summary><c>name</c>: unique within the cohort; letters, digits, '-', '_'.</summary>
    public required string Name { get; init; }

    /// <summary><c>model</c>: a zoo name (mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2), a path to a TorchScript file (.pt/.pth/.ts) or to a checkpoint (.ckpt, which rebuilds its model).</summary>
    public required string Model { get; init; }

    /// <summary><c>model_options</c>: zoo options as a map (widths: "512,256", dropout: 0.2, width: 2, ...).</summary>
    public IReadOnlyDictionary<string, string> ModelOptions { get; init; } = new Dictionary<string, string>();

    public OptimizerSpec Optimizer { get; init; } = new();

    public ScheduleSpec Schedule { get; init; } = new();

    /// <summary><c>device</c>: cpu or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary><c>seed</c>: weight initialisation and dropout stream. Default: the peer's index.</summary>
    public long Seed { get; init; }

    /// <summary><c>threads</c>: intra-op threads of this peer. Default 1.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>A participant of a federated strategy (the default role).</summary>
    public const string ParticipantRole = "participant";

    /// <summary>FedDF's server: no private data; distils the clients' averaged logits on the public split.</summary>
    public const string ServerRole = "server";

    /// <summary><c>role</c>: participant or server (feddf's one server).</summary>
    public string Role { get; init; } = ParticipantRole;

    /// <summary>
    /// <c>frozen</c>: a frozen teacher. It never steps (no gradient, evaluation mode for batch norm
    /// and dropout, its optimizer unused), publishes its logits every step like a peer, and learns
    /// from nobody. Default false.
    /// </summary>
    public bool Frozen { get; init; }

    /// <summary><c>checkpoint</c>: full path of the checkpoint whose weights a frozen zoo model loads; null for none.</summary>
    public string? Checkpoint { get; init; }
}
