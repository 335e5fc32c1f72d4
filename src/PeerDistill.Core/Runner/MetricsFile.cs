using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PeerDistill.Core.Runner;

/// <summary>
/// metrics.jsonl: one JSON object per line, "type" being "step", "eval" or "event" (fields in
/// docs/cohorts.md). Lines are flushed as they are written, so the file is complete up to a crash.
/// </summary>
public sealed class MetricsFile : ICohortObserver, IDisposable
{
    private readonly object _gate = new();
    private readonly string _path;
    private StreamWriter _writer;

    public MetricsFile(string path)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _writer = Open(append: true);
    }

    /// <summary>
    /// Before a resumed run: drops what <paramref name="run"/> recorded after step
    /// <paramref name="resumeStep"/> (it will be recorded again), and everything of it on a fresh start.
    /// </summary>
    public void Rewind(string run, long resumeStep)
    {
        lock (_gate)
        {
            _writer.Dispose();
            var kept = File.ReadAllLines(_path).Where(line => Keep(line, run, resumeStep)).ToList();
            File.WriteAllLines(_path, kept);
            _writer = Open(append: true);
        }
    }

    public void OnStep(StepRecord r) => Write(WithTeacherWeights(new JsonObject
    {
        ["type"] = "step",
        ["run"] = r.Run,
        ["peer"] = r.Peer,
        ["step"] = r.Step,
        ["epoch"] = r.Epoch,
        ["loss"] = r.Loss,
        ["ce"] = r.CrossEntropy,
        ["kd"] = r.Distillation,
        ["lr"] = r.LearningRate,
        ["alpha"] = r.Alpha,
        ["teachers"] = r.Teachers,
        ["samples_per_s"] = Math.Round(r.SamplesPerSecond, 1),
        ["elapsed_s"] = Math.Round(r.ElapsedSeconds, 3),
    }, r.TeacherWeights, r.Hint));

    public void OnEvaluation(EvalRecord r) => Write(new JsonObject
    {
        ["type"] = "eval",
        ["run"] = r.Run,
        ["peer"] = r.Peer,
        ["step"] = r.Step,
        ["epoch"] = r.Epoch,
        ["split"] = r.Split,
        ["final"] = r.Final,
        ["accuracy"] = r.Accuracy,
        ["loss"] = r.Loss,
    });

    public void OnEvent(PeerEvent r) => Write(new JsonObject
    {
        ["type"] = "event",
        ["run"] = r.Run,
        ["peer"] = r.Peer,
        ["step"] = r.Step,
        ["event"] = r.Kind,
        ["message"] = r.Message,
        ["time"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
    });

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    /// <summary>A step record with <c>teacher_weights</c> (teacher name -> mean weight at the step) when the strategy reports them, and <c>hint</c> for a peer with a hint term.</summary>
    private static JsonObject WithTeacherWeights(JsonObject record, IReadOnlyDictionary<string, double>? weights, double? hint)
    {
        if (hint is { } h)
        {
            record["hint"] = h;
        }

        if (weights is not null)
        {
            var node = new JsonObject();
            foreach (var (teacher, weight) in weights.OrderBy(w => w.Key, StringComparer.Ordinal))
            {
                node[teacher] = weight;
            }

            record["teacher_weights"] = node;
        }

        return record;
    }

    private static bool Keep(string line, string run, long resumeStep)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return false;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            return false; // a line torn by a crash
        }

        if (node?["run"]?.GetValue<string>() != run)
        {
            return true;
        }

        var step = node["step"]?.GetValue<long>() ?? 0;
        return node["type"]?.GetValue<string>() switch
        {
            "step" => step < resumeStep,
            "eval" => step <= resumeStep && node["final"]?.GetValue<bool>() != true,
            _ => step < resumeStep || (step == resumeStep && node["event"]?.GetValue<string>() is "checkpoint" or "started" or "resumed"),
        };
    }

    private StreamWriter Open(bool append) => new(new FileStream(_path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read)) { AutoFlush = true };

    private void Write(JsonObject record)
    {
        var line = record.ToJsonString();
        lock (_gate)
        {
            _writer.WriteLine(line);
        }
    }
}
