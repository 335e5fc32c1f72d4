using System.Globalization;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill train`: one model with cross-entropy only, run as a cohort of one peer with the
/// strategy <c>none</c>, so it goes through the same step loop as every cohort.
/// </summary>
internal static class SingleModelTrainer
{
    public static int Run(TrainSettings s, TextWriter output, CancellationToken cancellation)
    {
        try
        {
            var model = File.Exists(s.Model) ? Path.GetFullPath(s.Model) : s.Model;
            var name = Path.GetFileNameWithoutExtension(model);
            var spec = new CohortSpec
            {
                Cohort = $"train-{name}",
                Peers =
                [
                    new PeerSpec
                    {
                        Name = name,
                        Model = model,
                        ModelOptions = s.ModelOptions,
                        Optimizer = s.Optimizer,
                        Schedule = new ScheduleSpec { Kind = s.Schedule, WarmupSteps = s.WarmupSteps },
                        Device = s.Device,
                        Seed = s.Seed,
                        Threads = s.Threads,
                    },
                ],
                Distillation = new DistillationSpec { Strategy = "none" },
                Data = new DataSpec
                {
                    Dataset = s.Dataset,
                    Path = s.DataDirectory,
                    BatchSize = s.BatchSize,
                    Epochs = s.Epochs,
                    TrainSubset = s.TrainSubset,
                    Seed = s.Seed,
                    CropPadding = s.Augment ? 2 : 0,
                    HorizontalFlip = s.Augment,
                    SyntheticTrainCount = 10000,
                    SyntheticTestCount = 2000,
                },
                Checkpoints = new CheckpointSpec { KeepLast = 1 },
                Output = s.OutputDirectory ?? Path.Combine(Path.GetTempPath(), $"peerdistill-train-{Environment.ProcessId}"),
            };

            TorchRuntime.CheckDevice(s.Device);
            var stop = new StopControl();
            using var registration = cancellation.Register(() => stop.RequestStop());
            var progress = new CohortProgress(output, RunCommand.CohortDataSteps(spec), s.BatchSize, interactive: false);
            output.WriteLine($"training {model} alone on {s.Dataset}, {s.Epochs} epochs, batch {s.BatchSize}, {s.Threads} thread(s), {s.Device}");
            var result = CohortExperiment.Run(spec, new ExperimentOptions(), progress, stop, cancellation);
            var peer = result.Distilled.Peers.Single();
            if (s.OutputDirectory is null)
            {
                Directory.Delete(result.OutputDirectory, recursive: true);
            }
            else
            {
                output.WriteLine($"output: {result.OutputDirectory} (summary.json, metrics.jsonl, plot.svg, checkpoints/)");
            }

            if (peer.Status == PeerStatus.Failed)
            {
                Console.Error.WriteLine($"error: {peer.Message}");
                return peer.StepsCompleted == 0 ? ExitCodes.InvalidInput : ExitCodes.Failed;
            }

            var testCount = s.Dataset == "synthetic" ? 2000 : 10000;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"test accuracy {peer.TestAccuracy ?? 0:F4} on {testCount} images; wall time {result.WallSeconds:F1} s; {peer.SamplesPerSecond:F0} training samples/s; peak memory {TorchRuntime.PeakResidentBytes / (1024.0 * 1024.0):F0} MiB"));
            return result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
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
}
