namespace PeerDistill.Core.Runner;

/// <summary>What `peerdistill run` produced: the distilled run, its baseline if asked, and where the files are.</summary>
public sealed record ExperimentResult(
    string Cohort,
    RunResult Distilled,
    RunResult? Baseline,
    double WallSeconds,
    string OutputDirectory,
    string SummaryPath,
    string MetricsPath,
    string PlotPath)
{
    public bool Interrupted => Distilled.Interrupted || (Baseline?.Interrupted ?? false);
}
