using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>The README's main job, run for real: the cnn alone on Fashion-MNIST for 3 epochs.</summary>
public class MainJobTests
{
    [FashionMnistFact]
    public void CnnOnFashionMnist_ThreeEpochs_ReachesAtLeast089UnderOneGiB()
    {
        var (code, stdout, stderr) = CliProcess.Run(
            "train", "--model", "cnn", "--epochs", "3", "--batch-size", "128", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "5e-4");
        Assert.True(code == 0, $"exit {code}: {stderr}\n{stdout}");
        var result = Regex.Match(stdout, @"test accuracy (\d\.\d+) on 10000 images.*peak memory (\d+) MiB");
        Assert.True(result.Success, stdout);
        var accuracy = double.Parse(result.Groups[1].Value, CultureInfo.InvariantCulture);
        var peakMiB = int.Parse(result.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(accuracy >= 0.89, $"test accuracy {accuracy} < 0.89\n{stdout}");
        Assert.True(peakMiB < 1024, $"peak memory {peakMiB} MiB >= 1 GiB\n{stdout}");
    }
}
