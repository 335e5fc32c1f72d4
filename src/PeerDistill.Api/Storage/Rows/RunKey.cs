namespace PeerDistill.Api.Storage;

/// <summary>A run's identity in the database: its cohort's name and its id within the cohort.</summary>
internal readonly record struct RunKey(string Cohort, string Run)
{
    public override string ToString() => $"{Cohort}/{Run}";
}
