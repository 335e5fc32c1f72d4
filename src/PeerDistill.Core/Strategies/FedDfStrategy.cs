using PeerDistill.Core.Exchange;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// FedDF (Lin et al. 2020), logits only: clients train locally on their partitions; the server (a
/// peer with role server, no private data) fuses them by ensemble distillation: at each public
/// step it distils towards the clients' averaged logits (KL at temperature T; the public labels are
/// not used). Clients learn from nobody: they wait for the server's logits only at each round's
/// last public step, as the round's barrier (see <see cref="Runner.FederatedStepPlan"/>). The
/// FedAvg initialisation of the server (parameters moving from clients to server) is not built.
/// </summary>
public sealed class FedDfStrategy : IDistillationStrategy
{
    public const string StrategyKey = "feddf";

    private readonly FederatedOptions _options;
    private readonly ConsensusTeacher _ensemble;

    public FedDfStrategy(FederatedOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _ensemble = new ConsensusTeacher(options.Temperature, options.LabelSmoothing);
    }

    public string Key => StrategyKey;

    public bool Publishes(string peer) => true;

    /// <summary>The server learns from every client; a client hears from the server (the round barrier).</summary>
    public IReadOnlyList<string> Configure(string peer, long step) =>
        peer == _options.Server ? _options.Participants : _options.Server is { } server ? [server] : Array.Empty<string>();

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived) =>
        peer == _options.Server ? _ensemble.For(peer, arrived) : Strategies.TeacherPlan.None(_options.LabelSmoothing);
}
