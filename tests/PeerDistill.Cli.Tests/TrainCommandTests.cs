using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace PeerDistill.Cli.Tests;

public class TrainCommandTests
{
    [Fact]
    public void TrainOnSyntheticData_LearnsAndWritesACheckpoint()
    {
        var output = Directory.CreateTempSubdirectory("peerdistill-cli-").FullName;
        try
        {
            var (code, stdout, stderr) = CliProcess.Run(
                "train", "--dataset", "synthetic", "--model", "cnn", "--epochs", "2", "--train-subset", "4000",
                "--batch-size", "64", "--optimizer", "adam", "--lr", "0.002", "--threads", "1", "--output", output);
            Assert.True(code == 0, $"exit {code}: {stderr}");
            var match = Regex.Match(stdout, @"test accuracy (\d\.\d+) on 2000 images");
            Assert.True(match.Success, stdout);
            var accuracy = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(accuracy > 0.6, $"accuracy {accuracy} on 10 classes (chance 0.1)\n{stdout}");
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "checkpoints"), "*.ckpt", SearchOption.AllDirectories));
            Assert.Matches(@"peak memory \d+ MiB", stdout);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void BadOptions_ReportEachProblemAndExit2()
    {
        var (code, _, stderr) = CliProcess.Run("train", "--epochs", "0", "--optimizer", "lion", "--dataset", "cifar");
        Assert.Equal(2, code);
        Assert.Contains("--epochs: must be positive, got 0", stderr, StringComparison.Ordinal);
        Assert.Contains("--optimizer: unknown optimizer 'lion' (known: sgd, adam, adamw)", stderr, StringComparison.Ordinal);
        Assert.Contains("--dataset: unknown data set 'cifar' (known: fashion-mnist, synthetic)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownModel_IsAClearErrorNotAStackTrace()
    {
        var (code, _, stderr) = CliProcess.Run("train", "--dataset", "synthetic", "--model", "resnet99", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Contains("unknown model 'resnet99' (known: mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2)", stderr, StringComparison.Ordinal);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDataDirectory_NamesThePath()
    {
        var (code, _, stderr) = CliProcess.Run("train", "--data", "/nonexistent/fmnist", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/fmnist", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void CudaWithoutGpu_IsAClearError()
    {
        var (code, _, stderr) = CliProcess.Run("train", "--dataset", "synthetic", "--device", "cuda:0", "--epochs", "1");
        if (code == 0)
        {
            return; // a GPU machine: the run itself is the check
        }

        Assert.Equal(2, code);
        Assert.Contains("CUDA is not available", stderr, StringComparison.Ordinal);
    }
}
