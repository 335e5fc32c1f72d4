namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The cross-field rules of federated distillation (fedmd, feddf): their fields are errors with
/// the other strategies, their needs (a public split, one server for feddf, a synchronous
/// exchange, a partition that can be made) errors when missing, each naming its field path.
/// The parser hands over the readers of the sections as it reads them.
/// </summary>
internal sealed class FederatedChecks(SpecContext context)
{
    public const string FedMd = "fedmd";
    public const string FedDf = "feddf";

    // Fields of distillation that the federated strategies do not use: said, not silently ignored.
    private static readonly string[] UnusedDistillationFields = ["alpha", "alpha_warmup_steps", "teacher", "combine", "teachers", "weights"];

    public MappingReader? Data { get; set; }

    public MappingReader? Partition { get; set; }

    public MappingReader? Public { get; set; }

    public MappingReader? Distillation { get; set; }

    public MappingReader? Federated { get; set; }

    public MappingReader? Exchange { get; set; }

    /// <summary>The peers' readers, in index order (complete when every peer was read).</summary>
    public List<MappingReader> Peers { get; } = [];

    public static bool IsFederated(string strategy) => strategy is FedMd or FedDf;

    public void Check(MappingReader root, DistillationSpec distillation, DataSpec? data, IReadOnlyList<PeerSpec>? peers, int classes)
    {
        var strategy = distillation.Strategy;
        if (!IsFederated(strategy))
        {
            var only = $"only for the federated strategies {FedMd} and {FedDf} (distillation.strategy is {strategy})";
            ReportIfPresent(Data, "partition", only);
            ReportIfPresent(Data, "public", only);
            ReportIfPresent(Distillation, "federated", only);
            ReportIfPresent(Distillation, "logit_noise_sigma", only);
            if (peers is not null)
            {
                for (var i = 0; i < peers.Count && i < Peers.Count; i++)
                {
                    if (peers[i].Role == PeerSpec.ServerRole)
                    {
                        ReportIfPresent(Peers[i], "role", $"only strategy {FedDf} has a server (distillation.strategy is {strategy})");
                    }
                }
            }

            return;
        }

        var by = $"not used by strategy {strategy}";
        foreach (var key in UnusedDistillationFields)
        {
            ReportIfPresent(Distillation, key, by);
        }

        ReportIfPresent(Data, "epochs", $"{by}: its length is distillation.federated.rounds");
        if (Exchange?.Node("mode") is YamlDotNet.RepresentationModel.YamlScalarNode { Value: ExchangeSpec.BoundedStaleness } mode)
        {
            context.Report(Exchange.PathOf("mode"), $"strategy {strategy} needs the synchronous exchange (its public steps are a round's barrier)", mode);
        }

        if (strategy == FedDf)
        {
            ReportIfPresent(Federated, "public_warmup_steps", $"only for strategy {FedMd}");
        }

        if (data is not null && Data is not null)
        {
            CheckData(data, classes, strategy);
        }

        if (peers is not null && peers.Count == Peers.Count)
        {
            CheckRoles(root, peers, strategy);
        }
    }

    private void CheckData(DataSpec data, int classes, string strategy)
    {
        if (Public is null)
        {
            context.Report(Data!.PathOf("public"), $"required by strategy {strategy}: the public split (fraction or count) on which logits are exchanged", Data.Node("public")?.Start ?? Data.Start);
        }
        else if (data.Public is not null && (Public.Node("fraction") is null) == (Public.Node("count") is null))
        {
            context.Report(Public.Path, "give exactly one of fraction and count", Public.Start);
        }
        else if (data.Public is { Count: > 0 } counted && Data!.Node("train_subset") is not null && data.TrainSubset > 0 && counted.Count >= data.TrainSubset)
        {
            context.Report(Public.PathOf("count"), $"must be less than data.train_subset ({data.TrainSubset}): the participants need private images", Public.Node("count")!);
        }

        if (Partition is null || data.Partition is not { } p)
        {
            return;
        }

        if (p.Kind == PartitionSpec.Dirichlet && Partition.Node("alpha") is null)
        {
            context.Report(Partition.PathOf("alpha"), $"required when kind is {PartitionSpec.Dirichlet}", Partition.Start);
        }
        else if (p.Kind != PartitionSpec.Dirichlet)
        {
            ReportIfPresent(Partition, "alpha", $"only for kind {PartitionSpec.Dirichlet}");
        }

        if (p.Kind == PartitionSpec.Shards)
        {
            if (Partition.Node("shards_per_client") is not { } node)
            {
                context.Report(Partition.PathOf("shards_per_client"), $"required when kind is {PartitionSpec.Shards}", Partition.Start);
            }
            else if (p.ShardsPerClient > classes)
            {
                context.Report(Partition.PathOf("shards_per_client"), $"must be at most the {classes} classes, got {p.ShardsPerClient}", node);
            }
        }
        else
        {
            ReportIfPresent(Partition, "shards_per_client", $"only for kind {PartitionSpec.Shards}");
        }
    }

    private void CheckRoles(MappingReader root, IReadOnlyList<PeerSpec> peers, string strategy)
    {
        var servers = Enumerable.Range(0, peers.Count).Where(i => peers[i].Role == PeerSpec.ServerRole).ToList();
        if (strategy == FedMd)
        {
            foreach (var i in servers)
            {
                ReportIfPresent(Peers[i], "role", $"strategy {FedMd} has no server: every peer is a participant");
            }

            return;
        }

        if (servers.Count == 0)
        {
            context.Report(root.PathOf("peers"), $"strategy {FedDf} needs one peer with role {PeerSpec.ServerRole}", root.Node("peers")!);
        }

        foreach (var i in servers.Skip(1))
        {
            ReportIfPresent(Peers[i], "role", $"a second server (peers[{servers[0]}] is the server); strategy {FedDf} has one");
        }

        if (servers.Count == peers.Count)
        {
            context.Report(root.PathOf("peers"), $"strategy {FedDf} needs at least one participant besides the server", root.Node("peers")!);
        }
    }

    private void ReportIfPresent(MappingReader? r, string key, string message)
    {
        // A value already refused (out of range, wrong type) is one error, not two.
        if (r?.Node(key) is { } node && !context.Errors.Any(e => e.Path == r.PathOf(key)))
        {
            context.Report(r.PathOf(key), message, node);
        }
    }
}
