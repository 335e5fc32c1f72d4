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

    public long TotalSteps => (long)Sampler.BatchesPerEpoch * Spec.Epochs;

    /// <summary>A batch builder with the cohort's normalization and augmentation (stateless; one per peer thread is fine).</summary>
    public BatchBuilder NewBuilder() => new(Train, Normalization, Augmentation, Spec.Seed);

    public static CohortData Load(DataSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        InMemoryDataset train, test;
        Normalization normalization;
        if (spec.Dataset == "synthetic")
        {
            var all = SyntheticDataset.Create(spec.SyntheticTrainCount + spec.SyntheticTestCount, spec.SyntheticClasses, seed: spec.Seed, noise: spec.SyntheticNoise);
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
            return new CohortData(rest, validation, "validation", test, normalization, spec);
        }

        return new CohortData(train, test, "test", test, normalization, spec);
    }
}
