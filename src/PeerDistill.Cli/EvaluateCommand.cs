using System.CommandLine;
using System.Globalization;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Cli;

/// <summary>`peerdistill evaluate checkpoint`: test accuracy of a saved peer.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A peer checkpoint (.ckpt)." };
        var data = new Option<string?>("--data") { Description = "Directory of the Fashion-MNIST files (default /usr/share/datasets/fashion-mnist)." };
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist or synthetic (the synthetic test split of seed --seed).", DefaultValueFactory = _ => "fashion-mnist" };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic data set." };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("evaluate", "Evaluate a saved peer on the test set.") { checkpoint, data, dataset, seed, device, threads };
        command.SetAction(parse =>
        {
            try
            {
                TorchRuntime.SetNumThreads(Math.Max(1, parse.GetValue(threads)));
                var (model, step) = Checkpoint.LoadModel(parse.GetValue(checkpoint)!, parse.GetValue(device)!);
                using (model)
                {
                    IDataset test;
                    Normalization normalization;
                    if (parse.GetValue(dataset) == "synthetic")
                    {
                        var all = SyntheticDataset.Create(5000, seed: parse.GetValue(seed));
                        test = all.Subset(Enumerable.Range(4000, 1000).ToList(), "synthetic-test");
                        normalization = Normalization.None;
                    }
                    else
                    {
                        test = FashionMnist.Load(parse.GetValue(data), train: false);
                        normalization = Normalization.FashionMnist;
                    }

                    var result = ModelEvaluation.Evaluate(model, test, normalization);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{parse.GetValue(checkpoint)}: {model.Architecture} after {step} steps: test accuracy {result.Accuracy:F4}, loss {result.MeanLoss:F4} on {result.Count} images"));
                    return ExitCodes.Ok;
                }
            }
            catch (Exception e) when (e is TorchException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
        });
        return command;
    }
}
