using PeerDistill.Torch.Data;

namespace PeerDistill.Torch;

/// <summary>Evaluates a model over a whole data set in evaluation mode, under no_grad.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Accuracy and mean loss of <paramref name="model"/> on <paramref name="dataset"/>. When
    /// <paramref name="probabilities"/> is given (Count x Classes floats) it receives the softmax
    /// outputs, for ensembles. The model's training mode is restored afterwards.
    /// </summary>
    public static EvaluationResult Evaluate(Model model, IDataset dataset, Normalization normalization, int batchSize = 256, float[]? probabilities = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (probabilities is not null && probabilities.Length != dataset.Count * dataset.Classes)
        {
            throw new ArgumentException($"probabilities must hold {dataset.Count} x {dataset.Classes} values", nameof(probabilities));
        }

        var builder = new BatchBuilder(dataset, normalization, Augmentation.None, seed: 0);
        var sampler = new BatchSampler(dataset.Count, batchSize, seed: 0, shuffle: false);
        var wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            var correct = 0;
            double lossSum = 0;
            var offset = 0;
            for (var b = 0; b < sampler.BatchesPerEpoch; b++)
            {
                var batch = builder.Build(sampler, 0, b);
                using var x = batch.ImagesTensor();
                using var y = batch.LabelsTensor();
                using var logits = model.Predict(x);
                using (var loss = DistillationLoss.CrossEntropy(logits, y))
                {
                    lossSum += loss.Total.Item() * batch.Count;
                }

                using var predicted = logits.Argmax(1);
                var labels = predicted.ToInt64Array();
                for (var i = 0; i < labels.Length; i++)
                {
                    if (labels[i] == batch.Labels[i])
                    {
                        correct++;
                    }
                }

                if (probabilities is not null)
                {
                    using var p = logits.Softmax(1);
                    p.CopyTo(probabilities.AsSpan(offset * dataset.Classes, batch.Count * dataset.Classes));
                }

                offset += batch.Count;
            }

            return new EvaluationResult(dataset.Count, correct, dataset.Count == 0 ? 0 : lossSum / dataset.Count);
        }
        finally
        {
            model.IsTraining = wasTraining;
        }
    }
}
