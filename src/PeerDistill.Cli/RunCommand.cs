using PeerDistill.Cluster.Hosting;
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Torch;

namespace PeerDistill.Cli;

/// <summary>`peerdistill run spec.yaml`: the whole cohort in this process (the embedded default).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "Cohort spec (YAML or JSON)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoints common to all peers." };
        var baseline = new Option<bool>("--baseline") { Description = "Also train the same peers with the same seeds without distillation, and report the gain." };
        var output = new Option<string?>("--output") { Description = "Output directory (default: the spec's output, else runs/<cohort>)." };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics at http://127.0.0.1:<port>/metrics while the cohort trains (0: a free port, printed); default none. OTLP export: set OTEL_EXPORTER_OTLP_ENDPOINT." };
        var holdAt = new Option<long?>("--hold-at-step") { Description = "Every peer waits before this step until Ctrl-C or SIGTERM, which stop the cohort there with checkpoints of exactly that many steps (to stop a run at a chosen step, and resume it later)." };
        var command = new Command("run", "Train a cohort in this process: every peer on its own thread, logits exchanged in memory.") { spec, resume, baseline, output, metricsPort, holdAt };
        command.SetAction(parse => Run(parse.GetValue(spec)!, new ExperimentOptions
        {
            Resume = parse.GetValue(resume),
            Baseline = parse.GetValue(baseline),
            Output = parse.GetValue(output),
        }, parse.GetValue(holdAt), parse.GetValue(metricsPort)));
        return command;
    }

    private static int Run(string specPath, ExperimentOptions options, long? holdAt, int? metricsPort)
    {
        if (holdAt is < 1)
        {
            Console.Error.WriteLine($"--hold-at-step: must be 1 or more, got {holdAt}");
            return ExitCodes.InvalidInput;
        }

        if (metricsPort is < 0 or > 65535)
        {
            Console.Error.WriteLine($"--metrics-port: must be 0 to 65535 (0: a free port), got {metricsPort}");
            return ExitCodes.InvalidInput;
        }

        var spec = SpecFile.Load(specPath, Console.Error);
        if (spec is null)
        {
            return ExitCodes.InvalidInput;
        }

        var stop = new StopControl();
        if (holdAt is { } hold)
        {
            stop.HoldAt(hold, step =>
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held before step {step}: every peer waits here until Ctrl-C or SIGTERM"));
                Console.Out.Flush();
            });
        }
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) > 1)
            {
                Console.Error.WriteLine("second interrupt: exiting without waiting (checkpoints already on disk are kept)");
                Environment.Exit(ExitCodes.Interrupted);
            }

            Console.Error.WriteLine("interrupt: stopping every peer at the next step boundary and saving checkpoints (press again to exit at once)");
            stop.RequestStop();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        // OTLP export of the run's spans and metrics when OTEL_EXPORTER_OTLP_ENDPOINT is set (flushed at
        // the end), and a Prometheus scrape endpoint with --metrics-port.
        StandaloneTelemetry? telemetry;
        try
        {
            telemetry = StandaloneTelemetry.Start("embedded", $"{spec.Cohort}@{Environment.MachineName}", metricsPort);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: --metrics-port {metricsPort}: {e.Message}");
            return ExitCodes.Failed;
        }

        using var _ = telemetry;
        if (telemetry?.MetricsAddress is { } metrics)
        {
            Console.WriteLine($"metrics at {metrics}");
        }
        try
        {
            TorchRuntime.EnsureInitialized();
            var steps = CohortDataSteps(spec);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cohort {spec.Cohort}: {spec.Peers.Count} peers ({string.Join(", ", spec.Peers.Select(p => $"{p.Name}={Path.GetFileName(p.Model)}"))}), strategy {spec.Distillation.Strategy}, {spec.Data.Dataset}, {spec.Data.Epochs} epochs, batch {spec.Data.BatchSize}{(options.Baseline ? ", with baseline" : string.Empty)}{(options.Resume ? ", resuming" : string.Empty)}"));
            var progress = new CohortProgress(Console.Out, steps, spec.Data.BatchSize, interactive: !Console.IsOutputRedirected);
            var result = CohortExperiment.Run(spec, options, progress, stop);
            progress.Finish();
            PrintSummary(result);
            if (result.Interrupted)
            {
                Console.WriteLine($"interrupted: continue with  peerdistill run {specPath} --resume{(options.Baseline ? " --baseline" : string.Empty)}");
                return ExitCodes.Interrupted;
            }

            return result.Distilled.Peers.All(p => p.Status == PeerStatus.Failed) ? ExitCodes.Failed : ExitCodes.Ok;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException or InvalidOperationException or TorchException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }

    internal static long CohortDataSteps(Core.Spec.CohortSpec spec)
    {
        // The exact count comes from the data; this only sizes the progress display before loading.
        var images = spec.Data.Dataset == "synthetic" ? spec.Data.SyntheticTrainCount : 60000;
        if (spec.Data.TrainSubset > 0)
        {
            images = Math.Min(images, spec.Data.TrainSubset);
        }

        images -= (int)(images * spec.Data.ValidationSplit);
        return (long)Math.Ceiling(images / (double)spec.Data.BatchSize) * spec.Data.Epochs;
    }

    private static void PrintSummary(ExperimentResult result)
    {
        var d = result.Distilled;
        var b = result.Baseline;
        Console.WriteLine();
        var header = b is null ? $"{"peer",-14}{"model",-14}{"status",-12}{"test acc",10}" : $"{"peer",-14}{"model",-14}{"status",-12}{"baseline",10}{d.Run,10}{"gain",10}";
        Console.WriteLine(header);
        Console.WriteLine(new string('-', header.Length));
        foreach (var p in d.Peers)
        {
            var model = Path.GetFileName(p.Model);
            if (b is null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{p.Peer,-14}{model,-14}{p.Status.ToString().ToLowerInvariant(),-12}{Acc(p.TestAccuracy),10}"));
            }
            else
            {
                var bp = b.Peers.FirstOrDefault(x => x.Peer == p.Peer);
                var gain = bp?.TestAccuracy is { } ba && p.TestAccuracy is { } da ? (da - ba).ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{p.Peer,-14}{model,-14}{p.Status.ToString().ToLowerInvariant(),-12}{Acc(bp?.TestAccuracy),10}{Acc(p.TestAccuracy),10}{gain,10}"));
            }
        }

        if (b is null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"ensemble",-40}{Acc(d.EnsembleAccuracy),10}"));
        }
        else
        {
            var gain = b.EnsembleAccuracy is { } be && d.EnsembleAccuracy is { } de ? (de - be).ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"ensemble",-40}{Acc(b.EnsembleAccuracy),10}{Acc(d.EnsembleAccuracy),10}{gain,10}"));
        }

        foreach (var p in d.Peers.Concat(b?.Peers ?? []).Where(p => p.Message is not null))
        {
            Console.WriteLine($"note: {p.Message}");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wall time {result.WallSeconds:F1} s; {d.Run}: {d.WallSeconds:F1} s, {d.SamplesPerSecond:F0} samples/s over all peers{(b is null ? string.Empty : $"; baseline: {b.WallSeconds:F1} s, {b.SamplesPerSecond:F0} samples/s")}; peak memory {TorchRuntime.PeakResidentBytes / (1024.0 * 1024.0):F0} MiB"));
        Console.WriteLine($"summary: {result.SummaryPath}");
        Console.WriteLine($"metrics: {result.MetricsPath}");
        Console.WriteLine($"plot:    {result.PlotPath}");
    }

    private static string Acc(double? value) => value is { } v ? v.ToString("F4", CultureInfo.InvariantCulture) : "-";
}
