using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PeerDistill.Cluster.Cohorts;

/// <summary>
/// summary.json of a distributed run (<see cref="Core.Runner.SummarySchema"/>: the keys every summary
/// has, and what only a distributed run knows): the run's end state, each peer's last report, and the
/// interruptions (workers lost, peers interrupted and reactivated). Ensemble accuracy needs every
/// peer's predictions at once, which the cohort never sees; it is left out.
/// </summary>
public static partial class SummaryFile
{
    public const string FileName = "summary.json";


    /// <summary>Writes the summary of a finished run to &lt;output&gt;/summary.json (through a temporary file); returns the path.</summary>
    public static string Write(CohortRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var created = DateTimeOffset.FromUnixTimeMilliseconds(run.CreatedUnixMillis);
        var finished = run.FinishedUnixMillis is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : created;
        var document = new Document(
            Core.Runner.SummarySchema.Version,
            Core.Runner.SummarySchema.Distributed,
            run.Cohort,
            run.Run,
            States.Name(run.State),
            run.Strategy,
            run.OutputDirectory,
            run.CheckpointDirectory,
            created.ToString("O", CultureInfo.InvariantCulture),
            finished.ToString("O", CultureInfo.InvariantCulture),
            Math.Round((finished - created).TotalSeconds, 2),
            run.Peers.Select(p => new PeerEntry(p.Name, p.Model, States.Name(p.State), p.Step, p.TotalSteps, p.Accuracy, p.LastLoss, p.WorkerId, p.EverPlaced ? p.Generation : 0, p.Message)).ToList(),
            run.Interruptions.Select(e => new InterruptionEntry(DateTimeOffset.FromUnixTimeMilliseconds(e.UnixMillis).ToString("O", CultureInfo.InvariantCulture), e.Kind, e.Peer, e.Message)).ToList());
        Directory.CreateDirectory(run.OutputDirectory);
        var path = Path.Combine(run.OutputDirectory, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(document, SummaryJson.Default.Document));
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private sealed record Document(
        string Schema,
        string Mode,
        string Cohort,
        string Run,
        string State,
        string Strategy,
        string OutputDir,
        string CheckpointDir,
        string CreatedAt,
        string FinishedAt,
        double WallSeconds,
        IReadOnlyList<PeerEntry> Peers,
        IReadOnlyList<InterruptionEntry> Interruptions);

    private sealed record PeerEntry(string Peer, string Model, string State, long Steps, long TotalSteps, double? TestAccuracy, double? LastLoss, string? Worker, ulong Generation, string Message);

    private sealed record InterruptionEntry(string At, string Kind, string Peer, string Message);

    /// <summary>Source-generated serialization of the document (reflection-based serialization does not survive trimming).</summary>
    [JsonSourceGenerationOptions(
        PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
    [JsonSerializable(typeof(Document))]
    private sealed partial class SummaryJson : JsonSerializerContext;
}
