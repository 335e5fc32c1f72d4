using System.Text.Json;
using System.Text.Json.Nodes;
using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Runner;

// Objects are added as JsonNode (JsonArray.Add(JsonNode)): the generic Add<T> is not trim-safe.
/// <summary>Writes summary.json (<see cref="SummarySchema"/>): per-peer results of each run, the gains over the baseline, the ensembles.</summary>
public static class SummaryWriter
{
    public static void Write(string path, CohortSpec spec, ExperimentResult result, CohortData data)
    {
        var distilled = result.Distilled.Peers;
        var state = distilled.Any(p => p.Status == PeerStatus.Interrupted) ? "interrupted"
            : distilled.Count > 0 && distilled.All(p => p.Status == PeerStatus.Failed) ? "failed"
            : "completed";
        var peers = new JsonArray();
        foreach (var p in distilled)
        {
            peers.Add((JsonNode)new JsonObject
            {
                ["peer"] = p.Peer,
                ["model"] = p.Model,
                ["state"] = p.Status.ToString().ToLowerInvariant(),
                ["steps"] = p.StepsCompleted,
                ["test_accuracy"] = p.TestAccuracy,
                ["message"] = p.Message,
            });
        }

        var root = new JsonObject
        {
            ["schema"] = SummarySchema.Version,
            ["mode"] = SummarySchema.Embedded,
            ["cohort"] = spec.Cohort,
            ["run"] = result.Distilled.Run,
            ["state"] = state,
            ["spec"] = spec.SourcePath,
            ["strategy"] = result.Distilled.Strategy,
            ["dataset"] = data.Train.Name,
            ["train_images"] = data.Train.Count,
            ["test_images"] = data.Test.Count,
            ["epochs"] = spec.Data.Epochs,
            ["steps"] = data.TotalSteps,
            ["batch_size"] = spec.Data.BatchSize,
            ["wall_seconds"] = Math.Round(result.WallSeconds, 2),
            ["interrupted"] = result.Interrupted,
            ["finished_at"] = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["peers"] = peers,
            ["runs"] = new JsonObject(),
        };
        if (data.Federation is { } federation)
        {
            root["federation"] = FederationNode(spec, federation);
        }

        var runs = root["runs"]!.AsObject();
        runs[result.Distilled.Run] = RunNode(result.Distilled);
        if (result.Baseline is { } baseline)
        {
            runs[baseline.Run] = RunNode(baseline);
            var comparison = new JsonArray();
            foreach (var peer in result.Distilled.Peers)
            {
                var b = baseline.Peers.FirstOrDefault(p => p.Peer == peer.Peer);
                comparison.Add((JsonNode)new JsonObject
                {
                    ["peer"] = peer.Peer,
                    ["model"] = peer.Model,
                    ["baseline_accuracy"] = b?.TestAccuracy,
                    ["distilled_accuracy"] = peer.TestAccuracy,
                    ["gain"] = b?.TestAccuracy is { } ba && peer.TestAccuracy is { } da ? da - ba : null,
                });
            }

            root["comparison"] = comparison;
            root["ensemble"] = new JsonObject
            {
                ["baseline_accuracy"] = baseline.EnsembleAccuracy,
                ["distilled_accuracy"] = result.Distilled.EnsembleAccuracy,
            };
        }

        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The round plan and the partition: class counts per participant and of the public split.</summary>
    private static JsonObject FederationNode(CohortSpec spec, FederatedPlan f)
    {
        var participants = new JsonArray();
        for (var i = 0; i < f.Participants.Count; i++)
        {
            participants.Add((JsonNode)new JsonObject
            {
                ["peer"] = f.Participants[i],
                ["images"] = f.ClassCounts[i].Sum(),
                ["class_counts"] = new JsonArray([.. f.ClassCounts[i].Select(c => (JsonNode)c)]),
                ["private_steps_per_round"] = f.PrivateStepsPerRound(i),
            });
        }

        var partition = spec.Data.Partition ?? new PartitionSpec();
        return new JsonObject
        {
            ["strategy"] = f.Strategy,
            ["server"] = f.Server,
            ["rounds"] = f.Rounds,
            ["public_batches"] = f.PublicBatches,
            ["public_warmup_steps"] = f.WarmupSteps,
            ["round_length"] = f.RoundLength,
            ["logit_noise_sigma"] = f.NoiseSigma,
            ["partition"] = new JsonObject
            {
                ["kind"] = partition.Kind,
                ["alpha"] = partition.Kind == PartitionSpec.Dirichlet ? partition.Alpha : null,
                ["shards_per_client"] = partition.Kind == PartitionSpec.Shards ? partition.ShardsPerClient : null,
                ["seed"] = partition.Seed,
            },
            ["public_images"] = f.Public.Count,
            ["public_class_counts"] = new JsonArray([.. f.PublicClassCounts.Select(c => (JsonNode)c)]),
            ["participants"] = participants,
        };
    }

    private static JsonObject RunNode(RunResult run)
    {
        var peers = new JsonArray();
        foreach (var p in run.Peers)
        {
            peers.Add((JsonNode)new JsonObject
            {
                ["peer"] = p.Peer,
                ["model"] = p.Model,
                ["status"] = p.Status.ToString().ToLowerInvariant(),
                ["steps"] = p.StepsCompleted,
                ["test_accuracy"] = p.TestAccuracy,
                ["test_loss"] = p.TestLoss,
                ["samples_per_s"] = Math.Round(p.SamplesPerSecond, 1),
                ["message"] = p.Message,
            });
            if (p.TeacherWeights is { } weights)
            {
                var node = new JsonObject();
                foreach (var (teacher, weight) in weights)
                {
                    node[teacher] = Math.Round(weight, 6);
                }

                peers[^1]!.AsObject()["teacher_weights"] = node;
            }
        }

        return new JsonObject
        {
            ["strategy"] = run.Strategy,
            ["peers"] = peers,
            ["ensemble_accuracy"] = run.EnsembleAccuracy,
            ["wall_seconds"] = Math.Round(run.WallSeconds, 2),
            ["samples_per_s"] = Math.Round(run.SamplesPerSecond, 1),
            ["resumed_from_step"] = run.ResumedFromStep,
        };
    }
}
