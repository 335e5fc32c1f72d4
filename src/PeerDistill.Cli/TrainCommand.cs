using System.CommandLine;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Cli;

/// <summary>`peerdistill train`: one model, no distillation; the baseline every peer is compared with.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Zoo model (peerdistill info lists them) or a TorchScript file.", DefaultValueFactory = _ => "cnn" };
        var modelOption = new Option<string[]>("--model-option") { Description = "Model option key=value (repeatable), e.g. width=2 or widths=512,256.", AllowMultipleArgumentsPerToken = false };
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist or synthetic.", DefaultValueFactory = _ => "fashion-mnist" };
        var data = new Option<string?>("--data") { Description = "Directory of the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)." };
        var subset = new Option<int>("--train-subset") { Description = "Train on this many images drawn at random (0 = all)." };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 128 };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd, adam or adamw.", DefaultValueFactory = _ => "sgd" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 0.05 };
        var momentum = new Option<double>("--momentum") { DefaultValueFactory = _ => 0.9 };
        var nesterov = new Option<bool>("--nesterov");
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 5e-4 };
        var schedule = new Option<string>("--schedule") { Description = "constant or cosine.", DefaultValueFactory = _ => "constant" };
        var warmup = new Option<int>("--warmup-steps");
        var augment = new Option<bool>("--augment") { Description = "Random crop (padding 2) and horizontal flip." };
        var seed = new Option<long>("--seed");
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var output = new Option<string?>("--output") { Description = "Directory for the final checkpoint and metrics." };

        var command = new Command("train", "Train one model alone on Fashion-MNIST (or synthetic data) and report its test accuracy.")
        {
            model, modelOption, dataset, data, subset, epochs, batch, optimizer, lr, momentum, nesterov, weightDecay, schedule, warmup, augment, seed, threads, device, output,
        };

        command.SetAction((parse, cancellation) =>
        {
            var problems = new List<string>();
            var settings = new TrainSettings
            {
                Model = parse.GetValue(model)!,
                ModelOptions = ParseModelOptions(parse.GetValue(modelOption) ?? [], problems),
                Dataset = parse.GetValue(dataset)!,
                DataDirectory = parse.GetValue(data),
                TrainSubset = Positive(parse.GetValue(subset), "--train-subset", problems, allowZero: true),
                Epochs = Positive(parse.GetValue(epochs), "--epochs", problems),
                BatchSize = Positive(parse.GetValue(batch), "--batch-size", problems),
                Optimizer = new OptimizerSpec
                {
                    Kind = Known(parse.GetValue(optimizer)!.ToLowerInvariant(), "--optimizer", "optimizer", ["sgd", "adam", "adamw"], problems),
                    LearningRate = parse.GetValue(lr),
                    Momentum = parse.GetValue(momentum),
                    Nesterov = parse.GetValue(nesterov),
                    WeightDecay = parse.GetValue(weightDecay),
                },
                Schedule = Known(parse.GetValue(schedule)!.ToLowerInvariant(), "--schedule", "schedule", ["constant", "cosine"], problems),
                WarmupSteps = Positive(parse.GetValue(warmup), "--warmup-steps", problems, allowZero: true),
                Augment = parse.GetValue(augment),
                Seed = parse.GetValue(seed),
                Threads = Positive(parse.GetValue(threads), "--threads", problems),
                Device = parse.GetValue(device)!,
                OutputDirectory = parse.GetValue(output),
            };
            if (settings.Dataset is not ("fashion-mnist" or "synthetic"))
            {
                problems.Add($"--dataset: unknown data set '{settings.Dataset}' (known: fashion-mnist, synthetic)");
            }

            if (problems.Count > 0)
            {
                problems.ForEach(p => Console.Error.WriteLine($"error: {p}"));
                return Task.FromResult(ExitCodes.InvalidInput);
            }

            return Task.FromResult(SingleModelTrainer.Run(settings, Console.Out, cancellation));
        });
        return command;
    }

    private static int Positive(int value, string name, List<string> problems, bool allowZero = false)
    {
        if (value < 0 || (!allowZero && value == 0))
        {
            problems.Add($"{name}: must be {(allowZero ? "zero or more" : "positive")}, got {value}");
        }

        return value;
    }

    private static string Known(string value, string option, string what, string[] known, List<string> problems)
    {
        if (!known.Contains(value))
        {
            problems.Add($"{option}: unknown {what} '{value}' (known: {string.Join(", ", known)})");
        }

        return value;
    }

    private static Dictionary<string, string> ParseModelOptions(string[] items, List<string> problems)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                problems.Add($"--model-option: '{item}' is not key=value");
                continue;
            }

            result[item[..eq].Trim()] = item[(eq + 1)..].Trim();
        }

        return result;
    }
}
