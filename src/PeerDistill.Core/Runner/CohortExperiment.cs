using System.Diagnostics;
using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;

namespace PeerDistill.Core.Runner;

/// <summary>
/// One experiment from one spec: loads the data once, runs the baseline (when asked) and the
/// distilled cohort, and writes metrics.jsonl, summary.json and plot.svg into the output directory.
/// </summary>
public static class CohortExperiment
{
    public const string BaselineRun = "baseline";

    public static ExperimentResult Run(CohortSpec spec, ExperimentOptions options, ICohortObserver observer, StopControl stop, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var output = Path.GetFullPath(options.Output ?? spec.Output ?? Path.Combine("runs", spec.Cohort));
        var checkpoints = spec.Checkpoints.Directory is { } dir ? Path.GetFullPath(dir) : Path.Combine(output, "checkpoints");
        Directory.CreateDirectory(output);
        var metricsPath = Path.Combine(output, "metrics.jsonl");
        if (!options.Resume && File.Exists(metricsPath))
        {
            File.Delete(metricsPath);
        }

        var clock = Stopwatch.StartNew();
        var data = CohortData.Load(spec);
        var strategy = StrategyRegistry.Create(spec);
        using var metrics = new MetricsFile(metricsPath);
        var all = new CompositeObserver(metrics, observer);

        RunResult? baseline = null;
        if (options.Baseline)
        {
            baseline = RunOne(spec, data, StrategyRegistry.Baseline(spec), BaselineRun, checkpoints, options.Resume, metrics, all, stop, cancellation);
        }

        var distilled = baseline is { Interrupted: true }
            ? new RunResult(strategy.Key, strategy.Key, Array.Empty<PeerOutcome>(), null, 0, 0, 0)
            : RunOne(spec, data, strategy, strategy.Key, checkpoints, options.Resume, metrics, all, stop, cancellation);
        clock.Stop();

        var summaryPath = Path.Combine(output, "summary.json");
        var plotPath = Path.Combine(output, "plot.svg");
        var result = new ExperimentResult(spec.Cohort, distilled, baseline, clock.Elapsed.TotalSeconds, output, summaryPath, metricsPath, plotPath);
        SummaryWriter.Write(summaryPath, spec, result, data);
        metrics.Dispose();
        PlotWriter.Write(plotPath, metricsPath, spec.Cohort);
        if (data.Federation is { } federation)
        {
            PartitionPlotWriter.Write(Path.Combine(output, "partition.svg"), federation, spec.Cohort);
        }

        return result;
    }

    private static RunResult RunOne(
        CohortSpec spec, CohortData data, IDistillationStrategy strategy, string run, string checkpoints, bool resume, MetricsFile metrics, ICohortObserver observer, StopControl stop, CancellationToken cancellation)
    {
        if (resume)
        {
            var store = new CheckpointStore(checkpoints, run, spec.Checkpoints.KeepLast);
            metrics.Rewind(run, store.CommonStep(spec.Peers.Select(p => p.Name)) ?? 0);
        }

        return CohortRunner.Run(spec, data, strategy, run, checkpoints, resume, observer, stop, cancellation);
    }
}
