namespace PeerDistill.Api.Storage;

/// <summary>A write to a run that is not in the database.</summary>
internal sealed class RunNotFoundException(RunKey run) : Exception($"run '{run.Run}' of cohort '{run.Cohort}' is not in the database")
{
    public RunKey Run { get; } = run;
}
