using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>The federated fields (partition, public split, rounds, roles, noise): each misuse is one error at its path.</summary>
public class FederatedSpecTests
{
    public static TheoryData<string, string, string> Cases() => new()
    {
        // Federated fields with another strategy.
        { WithData("partition: {kind: iid}"), "data.partition", "only for the federated strategies fedmd and feddf (distillation.strategy is dml)" },
        { WithData("public: {count: 10}"), "data.public", "only for the federated strategies" },
        { With("distillation: {federated: {rounds: 2}}"), "distillation.federated", "only for the federated strategies" },
        { With("distillation: {logit_noise_sigma: 0.1}"), "distillation.logit_noise_sigma", "only for the federated strategies" },
        { WithPeerA("role: server"), "peers[0].role", "only strategy feddf has a server" },
        { WithPeerA("role: boss"), "peers[0].role", "unknown role 'boss' (known: participant, server)" },

        // The partition.
        { FedMd("{kind: dirichlet, alpha: 0.5, seed: 4}", "{kind: dirichlet}"), "data.partition.alpha", "required when kind is dirichlet" },
        { FedMd("alpha: 0.5", "alpha: 0"), "data.partition.alpha", "must be in [0.001, 1000], got 0" },
        { FedMd("{kind: dirichlet, alpha: 0.5, seed: 4}", "{kind: iid, alpha: 0.5}"), "data.partition.alpha", "only for kind dirichlet" },
        { FedMd("{kind: dirichlet, alpha: 0.5, seed: 4}", "{kind: mixed}"), "data.partition.kind", "unknown partition kind 'mixed' (known: iid, dirichlet, shards)" },
        { FedDf("{kind: shards, shards_per_client: 2}", "{kind: shards}"), "data.partition.shards_per_client", "required when kind is shards" },
        { FedDf("shards_per_client: 2", "shards_per_client: 11"), "data.partition.shards_per_client", "must be at most the 10 classes, got 11" },
        { FedMd("{kind: dirichlet, alpha: 0.5, seed: 4}", "{kind: iid, shards_per_client: 2}"), "data.partition.shards_per_client", "only for kind shards" },

        // The public split.
        { FedMd("  public: {fraction: 0.1}\n", string.Empty), "data.public", "required by strategy fedmd" },
        { FedMd("{fraction: 0.1}", "{fraction: 0.1, count: 5}"), "data.public", "give exactly one of fraction and count" },
        { FedMd("{fraction: 0.1}", "{}"), "data.public", "give exactly one of fraction and count" },
        { FedMd("{fraction: 0.1}", "{fraction: 0.95}"), "data.public.fraction", "must be in (0, 0.9], got 0.95" },
        { FedDf("{count: 100}", "{count: 0}"), "data.public.count", "must be in [1, 10000000], got 0" },

        // Rounds, roles and what the federated strategies do not use.
        { FedMd("rounds: 3", "rounds: 0"), "distillation.federated.rounds", "must be in [1, 100000], got 0" },
        { FedMd("public_batches: 4", "public_batches: 0"), "distillation.federated.public_batches", "must be in [1, 1000000], got 0" },
        { FedMd("local_epochs: 2", "local_epochs: 0"), "distillation.federated.local_epochs", "must be in [1, 1000], got 0" },
        { FedMd("logit_noise_sigma: 0.1", "logit_noise_sigma: -1"), "distillation.logit_noise_sigma", "must be in [0, 100], got -1" },
        { FedDf("federated: {rounds: 2}", "federated: {rounds: 2, public_warmup_steps: 5}"), "distillation.federated.public_warmup_steps", "only for strategy fedmd" },
        { FedMd("role: participant", "role: server"), "peers[0].role", "strategy fedmd has no server" },
        { FedDf("role: server", "role: participant"), "peers", "strategy feddf needs one peer with role server" },
        { FedDf("{name: a, model: mlp}", "{name: a, model: mlp, role: server}"), "peers[1].role", "a second server (peers[0] is the server)" },
        { FedMd("temperature: 2", "temperature: 2\n  alpha: 0.5"), "distillation.alpha", "not used by strategy fedmd" },
        { FedDf("federated: {rounds: 2}", "federated: {rounds: 2}\n  teachers: {a: [b]}"), "distillation.teachers", "not used by strategy feddf" },
        { FedMd("dataset: synthetic", "dataset: synthetic\n  epochs: 3"), "data.epochs", "not used by strategy fedmd: its length is distillation.federated.rounds" },
        { FullFedMd + "exchange: {mode: bounded-staleness}\n", "exchange.mode", "strategy fedmd needs the synchronous exchange" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InvalidFederatedSpec_ReportsOneErrorAtPath(string yaml, string path, string message)
    {
        var result = Parse(yaml);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1 && error.Column >= 1, $"no position: {error}");
    }

    [Fact]
    public void FederatedSpecs_ReadEveryValue()
    {
        var md = Parse(FullFedMd);
        Assert.True(md.IsValid, string.Join("; ", md.Errors));
        var spec = md.Spec!;
        Assert.Equal("fedmd", spec.Distillation.Strategy);
        Assert.Equal((3, 4, 2, 10L), (spec.Distillation.Federated.Rounds, spec.Distillation.Federated.PublicBatches, spec.Distillation.Federated.LocalEpochs, spec.Distillation.Federated.PublicWarmupSteps));
        Assert.Equal(0.1, spec.Distillation.LogitNoiseSigma);
        Assert.Equal(("dirichlet", 0.5, 4L), (spec.Data.Partition!.Kind, spec.Data.Partition.Alpha, spec.Data.Partition.Seed));
        Assert.Equal(0.1, spec.Data.Public!.Fraction);
        Assert.Equal(["participant", "participant"], spec.Peers.Select(p => p.Role));

        var df = Parse(FullFedDf);
        Assert.True(df.IsValid, string.Join("; ", df.Errors));
        Assert.Equal(["server", "participant", "participant"], df.Spec!.Peers.Select(p => p.Role));
        Assert.Equal(("shards", 2), (df.Spec.Data.Partition!.Kind, df.Spec.Data.Partition.ShardsPerClient));
        Assert.Equal(100, df.Spec.Data.Public!.Count);
        // Defaults: the partition seed is the data seed, the rounds' other numbers their defaults.
        Assert.Equal(df.Spec.Data.Seed, df.Spec.Data.Partition.Seed);
        Assert.Equal((10, 1), (df.Spec.Distillation.Federated.PublicBatches, df.Spec.Distillation.Federated.LocalEpochs));
    }
}
