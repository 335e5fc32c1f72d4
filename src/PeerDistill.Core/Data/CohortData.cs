using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Data;

/// <summary>
/// The data of a cohort, loaded once and shared read-only by its peers: the training set (after
/// subset and validation split), the set evaluated during training, the test set, and the batch
/// order every peer follows.
/// </summary>
public sealed class CohortData
{
    private CohortData(IDataset train, IDataset evaluation, string evaluationName, IDataset test, Normalization normalization, DataSpec spec)
    {
        Train = train;
        Evaluation = evaluation;
        EvaluationName = evaluationName;
        Test = test;
        Normalization = normalization;
        Spec = spec;
        Sampler = new BatchSampler(train.Count, spec.BatchSize, spec.Seed, shuffle: true, dropLast: false);
        Augmentation = new Augmentation(spec.CropPadding, spec.HorizontalFlip);
    }

    public IDataset Train { get; }

    /// <summary>What periodic evaluation measures: the validation split when there is one, else the test set.</summary>
    public IDataset Evaluation { get; }

    /// <summary>"validation" or "test".</summary>
    public string EvaluationName { get; }

    public IDataset Test { get; }

    public Normalization Normalization { get; }

    public Augmentation Augmentation { get; }

    public BatchSampler Sampler { get; }

    public DataSpec Spec { get; }

    public InputShape Shape => Train.Shape;

    public int Classes => Train.Classes;

    public int StepsPerEpoch => Sampler.BatchesPerEpoch;

    public long TotalSteps => Federation?.TotalSteps ?? (long)Sampler.BatchesPerEpoch * Spec.Epochs;

    /// <summary>The public split, partition and round plan of a federated run (fedmd, feddf); null otherwise.</summary>
    public FederatedPlan? Federation { get; private init; }

    /// <summary>The batch size of the logits frames of a step (0 where none may be sent): the exchange checks frames against it.</summary>
    public int FrameBatchSizeAt(long step) =>
        Federation is { } f ? f.FrameBatchSizeAt(step) : step >= 0 && step < TotalSteps ? Sampler.Batch(step).Length : 0;

    /// <summary>
    /// The data of <paramref name="spec"/>'s run: as <see cref="Load(DataSpec)"/>, and for a
    /// federated strategy also its public split, partition and round plan.
    /// </summary>
    public static CohortData Load(CohortSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!FederatedPlan.IsFederated(spec.Distillation.Strategy))
        {
            return Load(spec.Data);
        }

        var data = LoadData(spec.Data);
        return new CohortData(data.Train, data.Evaluation, data.EvaluationName, data.Test, data.Normalization, spec.Data)
        {
            Federation = FederatedPlan.Create(spec, data.Train),
        };
    }

    /// <summary>A batch builder with the cohort's normalization and augmentation (stateless; one per peer thread is fine).</summary>
    public BatchBuilder NewBuilder() => new(Train, Normalization, Augmentation, Spec.Seed);

    public static CohortData Load(DataSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Partition is not null || spec.Public is not null)
        {
            throw new ArgumentException("data.partition and data.public belong to a federated run: load it with Load(CohortSpec)");
        }

        var d = LoadData(spec);
        return new CohortData(d.Train, d.Evaluation, d.EvaluationName, d.Test, d.Normalization, spec);
    }

    private static (InMemoryDataset Train, InMemoryDataset Evaluation, string EvaluationName, InMemoryDataset Test, Normalization Normalization) LoadData(DataSpec spec)
    {
        InMemoryDataset train, test;
        Normalization normalization;
        if (spec.Dataset == "synthetic")
        {
            var all = SyntheticDataset.Create(spec.SyntheticTrainCount + spec.SyntheticTestCount, spec.SyntheticClasses, spec.SyntheticShape, seed: spec.Seed, noise: spec.SyntheticNoise);
            train = all.Subset(Enumerable.Range(0, spec.SyntheticTrainCount).ToList(), "synthetic-train");
            test = all.Subset(Enumerable.Range(spec.SyntheticTrainCount, spec.SyntheticTestCount).ToList(), "synthetic-test");
            normalization = Normalization.None;
        }
        else
        {
            train = FashionMnist.Load(spec.Path, train: true);
            test = FashionMnist.Load(spec.Path, train: false);
            normalization = Normalization.FashionMnist;
        }

        if (spec.TrainSubset > 0 && spec.TrainSubset < train.Count)
        {
            train = DatasetSplit.Take(train, spec.TrainSubset, spec.Seed);
        }

        if (spec.ValidationSplit > 0)
        {
            var (rest, validation) = DatasetSplit.Split(train, spec.ValidationSplit, spec.Seed);
            return (rest, validation, "validation", test, normalization);
        }

        return (train, test, "test", test, normalization);
    }
}
