using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>The README's main jobs, run for real on Fashion-MNIST.</summary>
public class MainJobTests
{
    [FashionMnistFact]
    public void CnnAlone_ThreeEpochs_ReachesAtLeast089UnderOneGiB()
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

    [FashionMnistFact]
    public void FashionDmlExample_EveryPeerReachesAtLeast087()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-main-").FullName;
        try
        {
            var (code, stdout, stderr) = CliProcess.RunIn(dir, "run", Path.Combine(CliProcess.Examples, "fashion-dml.yaml"), "--output", "out");
            Assert.True(code == 0, $"exit {code}: {stderr}\n{stdout}");
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "out", "summary.json")));
            var peers = summary.RootElement.GetProperty("runs").GetProperty("dml").GetProperty("peers").EnumerateArray().ToList();
            Assert.Equal(2, peers.Count);
            foreach (var peer in peers)
            {
                Assert.Equal("completed", peer.GetProperty("status").GetString());
                Assert.True(peer.GetProperty("test_accuracy").GetDouble() >= 0.87, $"{peer}\n{stdout}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
