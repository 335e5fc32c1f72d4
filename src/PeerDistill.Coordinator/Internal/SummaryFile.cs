using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator.Internal;

/// <summary>
/// summary.json of a distributed run: the run's end state, each peer's last report, and the
/// interruptions (workers lost, peers interrupted and reactivated). Ensemble accuracy needs every
/// peer's predictions at once, which the coordinator never sees; it is left out.
/// </summary>
internal static class SummaryFile
{
    public const string FileName = "summary.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The document for a finished run.</summary>
    public static Document Create(CohortRun run)
    {
        var finished = run.Finished ?? run.Created;
        return new Document(
            run.Cohort,
            run.Run,
            PeerStates.Name(run.State),
            run.Spec.Distillation.Strategy,
            run.OutputDirectory,
            run.CheckpointDirectory,
            run.Created.ToString("O", CultureInfo.InvariantCulture),
            finished.ToString("O", CultureInfo.InvariantCulture),
            Math.Round((finished - run.Created).TotalSeconds, 2),
            run.Peers.Select(p => new PeerEntry(
                p.Name,
                p.Model,
                PeerStates.Name(p.State),
                p.Step,
                p.TotalSteps,
                p.Accuracy,
                p.LastLoss,
                p.WorkerId,
                p.EverPlaced ? p.Generation : 0,
                p.Message)).ToList(),
            run.Interruptions.Select(Event).ToList());
    }

    /// <summary>Writes <paramref name="document"/> to &lt;directory&gt;/summary.json (through a temporary file); returns the path.</summary>
    public static string Write(string directory, Document document)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(document, Json));
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static InterruptionEntry Event(CohortEvent e) => new(
        DateTimeOffset.FromUnixTimeMilliseconds(e.UnixMillis).ToString("O", CultureInfo.InvariantCulture),
        e.Kind,
        e.Peer,
        e.Message);

    internal sealed record Document(
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

    internal sealed record PeerEntry(
        string Peer,
        string Model,
        string State,
        long Steps,
        long TotalSteps,
        double? Accuracy,
        double? LastLoss,
        string? Worker,
        ulong Generation,
        string Message);

    internal sealed record InterruptionEntry(string At, string Kind, string Peer, string Message);
}
