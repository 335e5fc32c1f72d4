using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>Small cohorts on synthetic data that train in seconds.</summary>
internal static class TestSpecs
{
    public static CohortSpec Synthetic(string output, string strategy = "dml", int epochs = 2, long checkpointEvery = 0, params PeerSpec[] peers) => new()
    {
        Cohort = "test",
        Peers = peers.Length > 0 ? peers : [Peer("a", "mlp", 1), Peer("b", "cnn", 2)],
        Distillation = new DistillationSpec { Strategy = strategy, Temperature = 2, Alpha = 1 },
        Data = new DataSpec
        {
            Dataset = "synthetic",
            BatchSize = 50,
            Epochs = epochs,
            SyntheticTrainCount = 2000,
            SyntheticTestCount = 400,
            SyntheticNoise = 0.3,
            Seed = 3,
        },
        Evaluation = new EvaluationSpec { EverySteps = 0, AtEpochEnd = true, BatchSize = 200 },
        Checkpoints = new CheckpointSpec { EverySteps = checkpointEvery, KeepLast = 3 },
        Output = output,
    };

    public static PeerSpec Peer(string name, string model, long seed, double lr = 0.003, string optimizer = "adam") => new()
    {
        Name = name,
        Model = model,
        ModelOptions = model == "mlp" ? new Dictionary<string, string> { ["widths"] = "64" } : model == "cnn" ? new Dictionary<string, string> { ["hidden"] = "32" } : new Dictionary<string, string>(),
        Optimizer = new OptimizerSpec { Kind = optimizer, LearningRate = lr, WeightDecay = 0, Momentum = optimizer == "sgd" ? 0.9 : 0 },
        Seed = seed,
        Threads = 1,
    };
}
