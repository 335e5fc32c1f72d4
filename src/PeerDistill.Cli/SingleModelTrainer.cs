using System.Diagnostics;
using System.Globalization;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Cli;

/// <summary>Trains one model with cross-entropy only and reports test accuracy, speed and memory.</summary>
internal static class SingleModelTrainer
{
    public static int Run(TrainSettings s, TextWriter output, CancellationToken cancellation)
    {
        try
        {
            TorchRuntime.SetNumThreads(s.Threads);
            TorchRuntime.CheckDevice(s.Device);
            var (train, test, normalization) = LoadData(s);
            using var model = File.Exists(s.Model)
                ? Model.LoadTorchScript(s.Model, s.Device, s.Seed)
                : Model.Create(s.Model, train.Shape, train.Classes, s.Seed, s.Device, s.ModelOptions);
            using var optimizer = Optimizer.Create(model, s.Optimizer);
            var sampler = new BatchSampler(train.Count, s.BatchSize, s.Seed);
            var builder = new BatchBuilder(train, normalization, s.Augment ? new Augmentation(2, true) : Augmentation.None, s.Seed);
            var totalSteps = (long)sampler.BatchesPerEpoch * s.Epochs;
            var schedule = new LearningRateSchedule
            {
                Kind = s.Schedule,
                BaseLearningRate = s.Optimizer.LearningRate,
                TotalSteps = totalSteps,
                WarmupSteps = s.WarmupSteps,
            };

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"training {model.Architecture} ({model.ParameterCount:N0} parameters) on {train.Name}: {train.Count} images, {s.Epochs} epochs of {sampler.BatchesPerEpoch} steps, batch {s.BatchSize}, {s.Threads} thread(s), {s.Device}"));
            var progress = new ProgressLine(output, totalSteps, s.BatchSize);
            var clock = Stopwatch.StartNew();
            long step = 0;
            double trainTime = 0;
            EvaluationResult? last = null;
            for (var epoch = 0; epoch < s.Epochs && !cancellation.IsCancellationRequested; epoch++)
            {
                double lossSum = 0;
                var epochClock = Stopwatch.StartNew();
                for (var b = 0; b < sampler.BatchesPerEpoch; b++, step++)
                {
                    if (cancellation.IsCancellationRequested)
                    {
                        break;
                    }

                    optimizer.LearningRate = schedule.At(step);
                    var batch = builder.Build(sampler, epoch, b);
                    using var x = batch.ImagesTensor();
                    using var y = batch.LabelsTensor();
                    using var xd = s.Device == "cpu" ? null : x.To(s.Device);
                    using var yd = s.Device == "cpu" ? null : y.To(s.Device);
                    optimizer.ZeroGrad();
                    using var logits = model.Forward(xd ?? x);
                    using var loss = DistillationLoss.CrossEntropy(logits, yd ?? y, checkFinite: true);
                    loss.Total.Backward();
                    optimizer.Step();
                    var value = loss.Total.Item();
                    lossSum += value;
                    progress.Update(step + 1, epoch + 1, value, (step + 1) * (double)s.BatchSize / (trainTime + epochClock.Elapsed.TotalSeconds));
                }

                trainTime += epochClock.Elapsed.TotalSeconds;
                last = ModelEvaluation.Evaluate(model, test, normalization);
                progress.Finish();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1}/{s.Epochs}  train loss {lossSum / Math.Max(1, sampler.BatchesPerEpoch):F4}  test loss {last.MeanLoss:F4}  test accuracy {last.Accuracy:F4}  {sampler.BatchesPerEpoch * (double)s.BatchSize / epochClock.Elapsed.TotalSeconds:F0} samples/s"));
            }

            if (s.OutputDirectory is not null)
            {
                var path = Path.Combine(s.OutputDirectory, "model.ckpt");
                Checkpoint.Save(path, model, optimizer, step, $"{{\"model\":\"{model.Architecture}\",\"dataset\":\"{train.Name}\"}}");
                output.WriteLine($"checkpoint: {Path.GetFullPath(path)} (step {step})");
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"test accuracy {last?.Accuracy ?? 0:F4} on {test.Count} images; wall time {clock.Elapsed.TotalSeconds:F1} s; {step * (double)s.BatchSize / Math.Max(trainTime, 1e-9):F0} training samples/s; peak memory {TorchRuntime.PeakResidentBytes / (1024.0 * 1024.0):F0} MiB"));
            if (cancellation.IsCancellationRequested)
            {
                output.WriteLine("interrupted: stopped early");
                return ExitCodes.Interrupted;
            }

            return ExitCodes.Ok;
        }
        catch (TorchException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.Kind is TorchErrorKind.InvalidArgument or TorchErrorKind.DeviceUnavailable ? ExitCodes.InvalidInput : ExitCodes.Failed;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }

    private static (IDataset Train, IDataset Test, Normalization Normalization) LoadData(TrainSettings s)
    {
        if (s.Dataset == "synthetic")
        {
            var all = SyntheticDataset.Create(12000, seed: s.Seed);
            var (tr, te) = DatasetSplit.Split(all, 1.0 / 6, s.Seed);
            return (s.TrainSubset > 0 ? DatasetSplit.Take(tr, s.TrainSubset, s.Seed) : tr, te, Normalization.None);
        }

        var train = FashionMnist.Load(s.DataDirectory, train: true);
        var test = FashionMnist.Load(s.DataDirectory, train: false);
        return (s.TrainSubset > 0 ? DatasetSplit.Take(train, s.TrainSubset, s.Seed) : train, test, Normalization.FashionMnist);
    }
}
