namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>data.partition</c>: how the private training images are split over the participants of a
/// federated strategy (fedmd, feddf). Computed from the spec alone, identically in every process;
/// each participant keeps only its own part.
/// </summary>
public sealed record PartitionSpec
{
    /// <summary>Every participant gets an equal share of a random permutation.</summary>
    public const string Iid = "iid";

    /// <summary>Non-IID over labels: each class is split over the participants by proportions drawn from Dirichlet(alpha).</summary>
    public const string Dirichlet = "dirichlet";

    /// <summary>Non-IID: images sorted by label, cut into equal shards, each participant gets <see cref="ShardsPerClient"/> shards (McMahan et al. 2017).</summary>
    public const string Shards = "shards";

    /// <summary><c>kind</c>: iid, dirichlet or shards.</summary>
    public string Kind { get; init; } = Iid;

    /// <summary><c>alpha</c>: concentration of the Dirichlet (dirichlet only; 0.1, 0.5, 1.0 are the usual settings).</summary>
    public double Alpha { get; init; }

    /// <summary><c>shards_per_client</c>: shards per participant (shards only), at most the number of classes.</summary>
    public int ShardsPerClient { get; init; }

    /// <summary><c>seed</c>: seed of the partition; default the data seed.</summary>
    public long Seed { get; init; }
}
