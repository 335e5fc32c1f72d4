using PeerDistill.Core.Spec;
using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Data;

/// <summary>
/// The data and the round plan of a federated run (fedmd, feddf), computed from the spec alone and
/// therefore the same in every process: the public split held out of the training images, the
/// partition of the rest over the participants, and which global step indices each peer runs.
/// </summary>
/// <remarks>
/// Round r occupies the global steps [W + r*R, W + (r+1)*R) with W the fedmd warm-up steps and
/// R = public_batches + max over participants of its private steps per round
/// (local_epochs * ceil(|partition| / batch_size)). fedmd: public steps at offsets [0, P) of the
/// round (digest), then each participant's private steps (revisit). feddf: each client's private
/// steps first (local training), then the public steps at offsets [L, L + P), L the longest local
/// training. A peer skips the indices it has nothing to do at, so public step j of round r has
/// the same global step on every peer, and the exchange, its fencing and checkpoints work on
/// global steps as for deep mutual learning.
/// </remarks>
public sealed class FederatedPlan
{
    private readonly InMemoryDataset _pool;
    private readonly int[][] _partitions;
    private readonly long[] _privateSteps;
    private readonly Dictionary<string, int> _participantIndex;

    private FederatedPlan(CohortSpec spec, InMemoryDataset pool, InMemoryDataset publicSplit, int[][] partitions, IReadOnlyList<string> participants, string? server)
    {
        var f = spec.Distillation.Federated;
        Strategy = spec.Distillation.Strategy;
        _pool = pool;
        Public = publicSplit;
        _partitions = partitions;
        Participants = participants;
        Server = server;
        _participantIndex = participants.Select((p, i) => (p, i)).ToDictionary(t => t.p, t => t.i, StringComparer.Ordinal);
        BatchSize = spec.Data.BatchSize;
        PublicSampler = new BatchSampler(publicSplit.Count, BatchSize, DeterministicRandom.Mix(spec.Data.Seed, 21), shuffle: true, dropLast: false);
        _privateSteps = partitions.Select(p => (long)f.LocalEpochs * ((p.Length + BatchSize - 1) / BatchSize)).ToArray();
        Rounds = f.Rounds;
        PublicBatches = f.PublicBatches;
        WarmupSteps = Strategy == FedMd ? f.PublicWarmupSteps : 0;
        LongestLocal = _privateSteps.Max();
        RoundLength = PublicBatches + LongestLocal;
        TotalSteps = WarmupSteps + (Rounds * RoundLength);
        ClassCounts = Partitioner.ClassCounts(pool.Labels, pool.Classes, partitions);
        PublicClassCounts = Partitioner.ClassCounts(publicSplit.Labels, publicSplit.Classes, [Enumerable.Range(0, publicSplit.Count).ToArray()])[0];
        NoiseSigma = spec.Distillation.LogitNoiseSigma;
        Seed = spec.Data.Seed;
    }

    public const string FedMd = "fedmd";
    public const string FedDf = "feddf";

    /// <summary>fedmd or feddf: the layout of the rounds.</summary>
    public string Strategy { get; }

    /// <summary>The peers with private data, in spec order (every peer but feddf's server).</summary>
    public IReadOnlyList<string> Participants { get; }

    /// <summary>feddf's server; null for fedmd.</summary>
    public string? Server { get; }

    /// <summary>The public split: every peer may see it; only logits on it are exchanged.</summary>
    public InMemoryDataset Public { get; }

    /// <summary>The order of public batches, the same on every peer: public step k is batch k of this sampler.</summary>
    public BatchSampler PublicSampler { get; }

    public int BatchSize { get; }

    public int Rounds { get; }

    public int PublicBatches { get; }

    public long WarmupSteps { get; }

    /// <summary>The most private steps any participant trains per round (L).</summary>
    public long LongestLocal { get; }

    /// <summary>R: global steps per round.</summary>
    public long RoundLength { get; }

    public long TotalSteps { get; }

    /// <summary>Class counts of each participant's partition, [participant][class].</summary>
    public int[][] ClassCounts { get; }

    /// <summary>Class counts of the public split.</summary>
    public int[] PublicClassCounts { get; }

    public double NoiseSigma { get; }

    public long Seed { get; }

    public static bool IsFederated(string strategy) => strategy is FedMd or FedDf;

    /// <summary>Holds out the public split of <paramref name="train"/> and partitions the rest over the participants of <paramref name="spec"/>.</summary>
    /// <exception cref="ArgumentException">The split or the partition cannot be made; the message names the spec field.</exception>
    public static FederatedPlan Create(CohortSpec spec, InMemoryDataset train)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(train);
        var data = spec.Data;
        var split = data.Public ?? throw new ArgumentException($"data.public: required by strategy {spec.Distillation.Strategy}");
        var publicCount = split.Count > 0 ? split.Count : (int)Math.Round(train.Count * split.Fraction);
        if (publicCount <= 0 || publicCount >= train.Count)
        {
            throw new ArgumentException($"data.public: a public split of {publicCount} of the {train.Count} training images leaves {(publicCount <= 0 ? "no public" : "no private")} images");
        }

        var order = new int[train.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        new DeterministicRandom(DeterministicRandom.Mix(data.Seed, train.Count, 3)).Shuffle(order.AsSpan());
        var publicIndices = order[..publicCount];
        var privateIndices = order[publicCount..];
        Array.Sort(publicIndices);
        Array.Sort(privateIndices);
        var publicSplit = train.Subset(publicIndices, $"{train.Name}/public");
        var pool = train.Subset(privateIndices, $"{train.Name}/private");
        var server = spec.Peers.FirstOrDefault(p => p.Role == PeerSpec.ServerRole)?.Name;
        var participants = spec.Peers.Where(p => p.Role != PeerSpec.ServerRole).Select(p => p.Name).ToList();
        var partitions = Partitioner.Split(pool.Labels, pool.Classes, participants.Count, data.Partition ?? new PartitionSpec { Seed = data.Seed });
        return new FederatedPlan(spec, pool, publicSplit, partitions, participants, server);
    }

    /// <summary>The index of <paramref name="peer"/> among the participants; -1 for the server.</summary>
    public int ParticipantIndex(string peer) => _participantIndex.GetValueOrDefault(peer, -1);

    /// <summary>Private steps per round of participant <paramref name="participant"/>.</summary>
    public long PrivateStepsPerRound(int participant) => _privateSteps[participant];

    /// <summary>
    /// A copy of the private images of one participant: the only private data its peer indexes
    /// (the pool is what every process derives the partition from; a peer never reads another's part).
    /// </summary>
    public InMemoryDataset PrivateData(int participant) =>
        _pool.Subset(_partitions[participant], $"{_pool.Name}/{Participants[participant]}");

    /// <summary>The positions in the private pool of one participant's images (for tests and summaries).</summary>
    public IReadOnlyList<int> PartitionOf(int participant) => _partitions[participant];

    /// <summary>The public step (index into <see cref="PublicSampler"/>'s stream) at global step <paramref name="step"/> of a round, or null: the same for every peer.</summary>
    public long? PublicIndexAt(long step)
    {
        if (step < 0 || step >= TotalSteps)
        {
            return null;
        }

        if (step < WarmupSteps)
        {
            return null;
        }

        var (round, offset) = RoundOf(step);
        var first = Strategy == FedMd ? 0 : LongestLocal;
        return offset >= first && offset < first + PublicBatches ? WarmupSteps + (round * PublicBatches) + (offset - first) : null;
    }

    /// <summary>The private step (index into the participant's own batch stream) at global step <paramref name="step"/>, or null.</summary>
    public long? PrivateIndexAt(int participant, long step)
    {
        if (step < WarmupSteps || step >= TotalSteps)
        {
            return null;
        }

        var (round, offset) = RoundOf(step);
        var first = Strategy == FedMd ? PublicBatches : 0;
        var n = _privateSteps[participant];
        return offset >= first && offset < first + n ? (round * n) + (offset - first) : null;
    }

    /// <summary>
    /// The first public step after <paramref name="step"/> (<see cref="TotalSteps"/> when none): where
    /// a peer that sent the frames of <paramref name="step"/> sends its next ones. The exchange
    /// believes a sender's frame that follows its last one in this sequence, as it believes step
    /// s + 1 after step s of a peer that runs every step.
    /// </summary>
    public long NextPublicStepAfter(long step)
    {
        var first = Strategy == FedMd ? 0 : LongestLocal;
        var s = Math.Max(step + 1, WarmupSteps);
        if (s >= TotalSteps)
        {
            return TotalSteps;
        }

        var (round, offset) = RoundOf(s);
        if (offset < first)
        {
            offset = first;
        }
        else if (offset >= first + PublicBatches)
        {
            (round, offset) = (round + 1, first);
        }

        return Math.Min(TotalSteps, WarmupSteps + (round * RoundLength) + offset);
    }

    /// <summary>Whether <paramref name="step"/> is the last public step of its round (feddf's barrier between server and clients).</summary>
    public bool IsLastPublicOfRound(long step) =>
        PublicIndexAt(step) is { } k && (k - WarmupSteps) % PublicBatches == PublicBatches - 1;

    /// <summary>The round of a global step: 0 for the warm-up, then 1..rounds.</summary>
    public int RoundNumberAt(long step) => step < WarmupSteps ? 0 : (int)Math.Min(Rounds, RoundOf(step).Round + 1);

    /// <summary>Whether <paramref name="completedSteps"/> steps end a round (or the warm-up).</summary>
    public bool EndsRound(long completedSteps) =>
        completedSteps > 0 && ((WarmupSteps > 0 && completedSteps == WarmupSteps) || (completedSteps > WarmupSteps && (completedSteps - WarmupSteps) % RoundLength == 0));

    /// <summary>The batch size of the frames of global step <paramref name="step"/>: the public batch's, and 0 where no frame may be sent.</summary>
    public int FrameBatchSizeAt(long step) => PublicIndexAt(step) is { } k ? PublicSampler.Batch(k).Length : 0;

    private (long Round, long Offset) RoundOf(long step)
    {
        var round = Math.DivRem(step - WarmupSteps, RoundLength, out var offset);
        return (round, offset);
    }
}
