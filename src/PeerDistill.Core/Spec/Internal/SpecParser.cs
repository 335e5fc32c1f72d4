using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// Maps one YAML document onto the spec records by hand, reporting every problem to the context.
/// Returns a spec only as far as it could be read; the loader discards it when anything was reported.
/// </summary>
internal sealed class SpecParser(SpecContext context, string baseDirectory, string sourcePath, bool engineChecks = true)
{
    private const int FashionMnistClasses = 10;
    private static readonly string[] ScriptExtensions = [".pt", ".pth", ".ts"];
    private const string CheckpointExtension = ".ckpt";
    private static readonly Mark Origin = new(0, 1, 1);

    // The readers the federated cross-field checks look at again (see FederatedChecks).
    private readonly FederatedChecks _federated = new(context);

    public CohortSpec? Parse(string text)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) is var bytes && bytes > SpecLimits.MaxBytes)
        {
            context.Report(string.Empty, $"the spec is {bytes} bytes; a spec may have at most {SpecLimits.MaxBytes} bytes", Origin);
            return null;
        }

        var stream = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            stream.Load(new BoundedParser(parser));
        }
        catch (SpecLimitException e)
        {
            context.Report(string.Empty, e.Message, e.At);
            return null;
        }
        catch (YamlException e)
        {
            context.Report(string.Empty, e.Message, e.Start);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The YAML library throws other exceptions (InvalidOperationException without a
            // position, ArgumentException, ...) on some malformed input: whatever it throws, the
            // text is not a readable spec, and the caller hears where reading stopped.
            context.Report(string.Empty, "invalid YAML after this point", parser.Current?.End ?? Origin);
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            context.Report(string.Empty, "empty spec (expected a mapping with cohort, peers and data)", Origin);
            return null;
        }

        foreach (var extra in stream.Documents.Skip(1))
        {
            context.Report(string.Empty, "expected one document, found another", extra.RootNode.Start);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode rootNode)
        {
            var node = stream.Documents[0].RootNode;
            context.Report(string.Empty, $"expected a mapping with cohort, peers and data, got {SpecContext.Describe(node)}", node);
            return null;
        }

        var root = new MappingReader(context, SpecFields.Cohort, rootNode, string.Empty);
        var cohort = root.String("cohort");
        var (data, classes) = ReadData(root.Object("data"));
        var (peers, names) = ReadPeers(root, classes);
        var exchange = ReadExchange(root.Object("exchange"), classes);
        var frozen = peers?.Where(p => p.Frozen).Select(p => p.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        var distillationReader = root.Object("distillation");
        var distillation = ReadDistillation(distillationReader, names, frozen, exchange);
        MultiTeacherChecks.CheckFrozenStrategy(context, distillationReader, distillation.Strategy, peers, rootNode.Start);
        HintChecks.Check(context, distillationReader, distillation, peers, exchange, classes, engineChecks);
        var evaluation = ReadEvaluation(root.Object("evaluation"));
        var checkpoints = ReadCheckpoints(root.Object("checkpoints"));
        var tracing = ReadTracing(root.Object("tracing"));
        var output = root.String("output");
        var changes = ReadChanges(root, distillation);
        _federated.Check(root, distillation, data, peers, classes);

        if (cohort is null || peers is null || data is null)
        {
            return null;
        }

        return new CohortSpec
        {
            Cohort = cohort,
            Peers = peers,
            Distillation = distillation,
            Data = data,
            Evaluation = evaluation,
            Checkpoints = checkpoints,
            Tracing = tracing,
            Exchange = exchange,
            Changes = changes,
            Output = output ?? Path.Combine("runs", cohort),
            SourcePath = sourcePath,
        };
    }

    private (DataSpec? Data, int Classes) ReadData(MappingReader? r)
    {
        if (r is null)
        {
            return (null, FashionMnistClasses);
        }

        var d = new DataSpec();
        var dataset = r.String("dataset") ?? d.Dataset;
        var augmentation = r.Object("augmentation");
        var synthetic = r.Node("synthetic");
        MappingReader? s = null;
        if (synthetic is not null)
        {
            if (dataset == SpecFields.SyntheticDataset)
            {
                s = r.Object("synthetic");
            }
            else if (r.Field("dataset").Allowed!.Contains(dataset))
            {
                context.Report(r.PathOf("synthetic"), $"only for dataset {SpecFields.SyntheticDataset}", synthetic);
            }
        }

        var partition = r.Object("partition");
        var publicSplit = r.Object("public");
        _federated.Data = r;
        _federated.Partition = partition;
        _federated.Public = publicSplit;
        var seed = r.Integer("seed") ?? d.Seed;
        var data = new DataSpec
        {
            Dataset = dataset,
            Path = r.String("path"),
            BatchSize = r.Int32("batch_size") ?? d.BatchSize,
            Epochs = r.Int32("epochs") ?? d.Epochs,
            TrainSubset = r.Int32("train_subset") ?? d.TrainSubset,
            ValidationSplit = r.Number("validation_split") ?? d.ValidationSplit,
            Seed = seed,
            CropPadding = augmentation?.Int32("crop_padding") ?? d.CropPadding,
            HorizontalFlip = augmentation?.Boolean("horizontal_flip") ?? d.HorizontalFlip,
            SyntheticTrainCount = s?.Int32("train_count") ?? d.SyntheticTrainCount,
            SyntheticTestCount = s?.Int32("test_count") ?? d.SyntheticTestCount,
            SyntheticNoise = s?.Number("noise") ?? d.SyntheticNoise,
            SyntheticClasses = s?.Int32("classes") ?? d.SyntheticClasses,
            Partition = partition is null ? null : new PartitionSpec
            {
                Kind = partition.String("kind") ?? PartitionSpec.Iid,
                Alpha = partition.Number("alpha") ?? 0,
                ShardsPerClient = partition.Int32("shards_per_client") ?? 0,
                Seed = partition.Integer("seed") ?? seed,
            },
            Public = publicSplit is null ? null : new PublicSplitSpec
            {
                Fraction = publicSplit.Number("fraction") ?? 0,
                Count = publicSplit.Int32("count") ?? 0,
            },
        };
        return (data, dataset == SpecFields.SyntheticDataset ? data.SyntheticClasses : FashionMnistClasses);
    }

    /// <summary>
    /// The peers (null when any is wrong) and their names (null unless every peer has a valid
    /// name, so that teachers and weights are checked against the names only when they are all known).
    /// </summary>
    private (List<PeerSpec>? Peers, List<string>? Names) ReadPeers(MappingReader root, int classes)
    {
        if (root.List("peers") is not { } list)
        {
            return (null, null);
        }

        var item = root.Field("peers").Items!;
        var peers = new List<PeerSpec>(list.Children.Count);
        var firstIndexByName = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>(list.Children.Count);
        var (peersComplete, namesComplete) = (true, true);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = SpecPath.Index(root.PathOf("peers"), i);
            if (context.ReadObject(list.Children[i], path, item) is not { } r)
            {
                (peersComplete, namesComplete) = (false, false);
                continue;
            }

            var name = r.String("name");
            if (name is null)
            {
                namesComplete = false;
            }
            else if (firstIndexByName.TryAdd(name, i))
            {
                names.Add(name);
            }
            else
            {
                context.Report(r.PathOf("name"), $"duplicate peer name {SpecContext.Quote(name)} (first used by peers[{firstIndexByName[name]}])", r.Node("name")!);
                name = null;
            }

            if (ReadPeer(r, i, name, classes) is { } peer)
            {
                peers.Add(peer);
            }
            else
            {
                peersComplete = false;
            }
        }

        return (peersComplete ? peers : null, namesComplete ? names : null);
    }

    private PeerSpec? ReadPeer(MappingReader r, int index, string? name, int classes)
    {
        var p = new PeerSpec { Name = "defaults", Model = "defaults" };
        var model = r.String("model");
        var options = ReadModelOptions(r, out var optionsValid);
        var optimizer = ReadOptimizer(r.Object("optimizer"));
        var schedule = ReadSchedule(r.Object("schedule"));
        var device = r.String("device") ?? p.Device;
        var seed = r.Integer("seed") ?? index;
        var threads = r.Int32("threads") ?? p.Threads;
        var role = r.String("role") ?? p.Role;
        _federated.Peers.Add(r);
        var frozenValue = r.Boolean("frozen");
        var frozen = frozenValue ?? p.Frozen;
        var checkpoint = r.String("checkpoint");

        if (model is not null)
        {
            model = ResolveModel(r, model, options, optionsValid, classes);
        }

        // An invalid frozen is reported already; what depends on it is not judged.
        if ((frozen || checkpoint is not null) && (frozenValue is not null || r.Node("frozen") is null))
        {
            checkpoint = FrozenTeacherChecks.Check(context, r, model, options, optionsValid, frozen, checkpoint, baseDirectory, classes, engineChecks);
        }

        if (name is null || model is null)
        {
            return null;
        }

        return new PeerSpec
        {
            Name = name,
            Model = model,
            ModelOptions = options,
            Optimizer = optimizer,
            Schedule = schedule,
            Device = device,
            Seed = seed,
            Threads = threads,
            Role = role,
            Frozen = frozen,
            Checkpoint = checkpoint,
        };
    }

    /// <summary>A TorchScript file resolves to a full path that must exist; a zoo name is built once to check it and its options.</summary>
    private string? ResolveModel(MappingReader r, string model, Dictionary<string, string> options, bool optionsValid, int classes)
    {
        if (model.EndsWith(CheckpointExtension, StringComparison.OrdinalIgnoreCase))
        {
            return ResolveFile(r, "model", model, "checkpoint", options);
        }

        if (ScriptExtensions.Any(e => model.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
        {
            var fullPath = Path.GetFullPath(model, baseDirectory);
            if (options.Count > 0)
            {
                context.Report(r.PathOf("model_options"), "only for zoo models, not TorchScript files", r.Node("model_options")!);
            }

            if (!File.Exists(fullPath))
            {
                context.Report(r.PathOf("model"), $"TorchScript file {SpecContext.Quote(fullPath, int.MaxValue)} not found", r.Node("model")!);
                return null;
            }

            return fullPath;
        }

        if (!engineChecks)
        {
            // Model names and options are the engine's to judge: the silo that builds the peer does.
            return model;
        }

        var zoo = ZooModelCheck.IsZooName(model);
        if (!zoo || optionsValid)
        {
            if (ZooModelCheck.Check(model, options, classes) is { } problem)
            {
                var key = zoo ? "model_options" : "model";
                context.Report(r.PathOf(key), problem, r.Node(key) ?? r.Node("model")!);
                return zoo ? model : null;
            }
        }

        return model;
    }

    /// <summary>A model given as a file (a checkpoint) resolves to a full path that must exist; a file takes no model options.</summary>
    private string? ResolveFile(MappingReader r, string key, string path, string what, Dictionary<string, string> options)
    {
        var fullPath = Path.GetFullPath(path, baseDirectory);
        if (options.Count > 0)
        {
            context.Report(r.PathOf("model_options"), "only for zoo models, not model files", r.Node("model_options")!);
        }

        if (!File.Exists(fullPath))
        {
            context.Report(r.PathOf(key), $"{what} file {SpecContext.Quote(fullPath, int.MaxValue)} not found", r.Node(key)!);
            return null;
        }

        return fullPath;
    }

    private Dictionary<string, string> ReadModelOptions(MappingReader r, out bool valid)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        valid = true;
        if (r.Node("model_options") is null)
        {
            return options;
        }

        if (r.Map("model_options") is not { } map)
        {
            valid = false;
            return options;
        }

        var field = r.Field("model_options");
        if (map.Children.Count > field.MaxItems)
        {
            context.Report(r.PathOf("model_options"), $"expected at most {field.MaxItems} options, got {map.Children.Count}", map);
            valid = false;
            return options;
        }

        var keyField = new SpecField("option", SpecValueKind.String, "option name") { Noun = "option name", Pattern = field.KeyPattern, PatternHint = "use letters, digits and '_'" };
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var path = r.PathOf("model_options");
            var key = context.ReadString(keyNode, path, keyField);
            if (key is null)
            {
                valid = false;
                continue;
            }

            path = SpecPath.Field(path, key);
            var value = valueNode switch
            {
                YamlScalarNode when !SpecContext.IsNull(valueNode) => ((YamlScalarNode)valueNode).Value!,
                YamlSequenceNode { Children.Count: > 0 } list when list.Children.All(c => c is YamlScalarNode && !SpecContext.IsNull(c)) =>
                    string.Join(',', list.Children.Select(c => ((YamlScalarNode)c).Value)),
                _ => null,
            };
            if (value is null)
            {
                context.Report(path, $"expected a value or a list of values, got {SpecContext.Describe(valueNode)}", valueNode);
                valid = false;
            }
            else if (value.Length > SpecFields.MaxOptionLength)
            {
                context.Report(path, $"must be at most {SpecFields.MaxOptionLength} characters written out, got {value.Length}", valueNode);
                valid = false;
            }
            else if (value.Contains(';', StringComparison.Ordinal))
            {
                context.Report(path, $"must not contain ';', got {SpecContext.Quote(value)}", valueNode);
                valid = false;
            }
            else
            {
                options[key] = value;
            }
        }

        return options;
    }

    private OptimizerSpec ReadOptimizer(MappingReader? r)
    {
        var d = new OptimizerSpec();
        if (r is null)
        {
            return d;
        }

        var betas = ReadBetas(r);
        var spec = new OptimizerSpec
        {
            Kind = r.String("kind") ?? d.Kind,
            LearningRate = r.Number("lr") ?? d.LearningRate,
            Momentum = r.Number("momentum") ?? d.Momentum,
            Nesterov = r.Boolean("nesterov") ?? d.Nesterov,
            WeightDecay = r.Number("weight_decay") ?? d.WeightDecay,
            Beta1 = betas?[0] ?? d.Beta1,
            Beta2 = betas?[1] ?? d.Beta2,
            Epsilon = r.Number("eps") ?? d.Epsilon,
        };

        if (spec.Nesterov && spec.Momentum <= 0)
        {
            context.Report(r.PathOf("nesterov"), "needs momentum > 0", r.Node("nesterov")!);
        }

        return spec;
    }

    private double[]? ReadBetas(MappingReader r)
    {
        if (r.List("betas") is not { } list)
        {
            return null;
        }

        var item = r.Field("betas").Items!;
        var values = list.Children.Select((node, i) => context.ReadNumber(node, SpecPath.Index(r.PathOf("betas"), i), item)).ToArray();
        return values.All(v => v is not null) ? [.. values.Select(v => v!.Value)] : null;
    }

    private ScheduleSpec ReadSchedule(MappingReader? r)
    {
        var d = new ScheduleSpec();
        if (r is null)
        {
            return d;
        }

        var stepSize = r.Integer("step_size");
        var spec = new ScheduleSpec
        {
            Kind = r.String("kind") ?? d.Kind,
            WarmupSteps = r.Integer("warmup_steps") ?? d.WarmupSteps,
            StepSize = stepSize ?? d.StepSize,
            Gamma = r.Number("gamma") ?? d.Gamma,
            MinLearningRate = r.Number("min_lr") ?? d.MinLearningRate,
        };

        // An invalid step_size is already reported; absent or 0 is wrong only for the step schedule.
        var stepSizeNode = r.Node("step_size");
        if (spec.Kind == SpecFields.StepSchedule && (stepSizeNode is null || stepSize == 0))
        {
            context.Report(r.PathOf("step_size"), $"must be > 0 when kind is {SpecFields.StepSchedule}", stepSizeNode?.Start ?? r.Start);
        }

        return spec;
    }

    private DistillationSpec ReadDistillation(MappingReader? r, IReadOnlyList<string>? names, IReadOnlySet<string> frozen, ExchangeSpec exchange)
    {
        var d = new DistillationSpec();
        if (r is null)
        {
            return d with
            {
                Teachers = names is null ? null : AllToAll(names, new Dictionary<string, IReadOnlyList<string>>(), frozen),
                Weights = names is null ? null : names.ToDictionary(n => n, _ => 1.0),
            };
        }

        var hint = ReadHint(r.Object("hint"));
        var weighting = r.String("weighting");
        var weightingTemperature = r.Number("weighting_temperature");
        var spec = new DistillationSpec
        {
            Strategy = r.String("strategy") ?? d.Strategy,
            Temperature = r.Number("temperature") ?? d.Temperature,
            Alpha = r.Number("alpha") ?? d.Alpha,
            AlphaWarmupSteps = r.Integer("alpha_warmup_steps") ?? d.AlphaWarmupSteps,
            Teacher = r.String("teacher") ?? d.Teacher,
            Combine = r.String("combine") ?? d.Combine,
            LabelSmoothing = r.Number("label_smoothing") ?? d.LabelSmoothing,
            Federated = ReadFederated(r.Object("federated")),
            LogitNoiseSigma = r.Number("logit_noise_sigma") ?? d.LogitNoiseSigma,
            Weighting = weighting ?? d.Weighting,
            WeightingTemperature = weightingTemperature ?? d.WeightingTemperature,
            Hint = hint,
        };
        _federated.Distillation = r;

        if (spec.Combine == SpecFields.Convex && spec.Alpha > 1)
        {
            context.Report(r.PathOf("alpha"), $"must be <= 1 when combine is {SpecFields.Convex}, got {SpecField.Format(spec.Alpha)}", r.Node("alpha")!);
        }

        var teachers = ReadTeachers(r, names, frozen);
        var weights = ReadWeights(r, names);
        var result = spec with
        {
            Teachers = names is null ? null : AllToAll(names, teachers, frozen),
            Weights = names?.ToDictionary(n => n, n => weights.GetValueOrDefault(n, 1.0)),
        };
        MultiTeacherChecks.Check(context, r, result, weighting is not null, weightingTemperature is not null, names, frozen, exchange);
        return result;
    }

    private FederatedSpec ReadFederated(MappingReader? r)
    {
        var d = new FederatedSpec();
        _federated.Federated = r;
        return r is null
            ? d
            : new FederatedSpec
            {
                Rounds = r.Int32("rounds") ?? d.Rounds,
                PublicBatches = r.Int32("public_batches") ?? d.PublicBatches,
                LocalEpochs = r.Int32("local_epochs") ?? d.LocalEpochs,
                PublicWarmupSteps = r.Integer("public_warmup_steps") ?? d.PublicWarmupSteps,
            };
    }

    private HintSpec? ReadHint(MappingReader? r)
    {
        if (r is null)
        {
            return null;
        }

        var teacher = r.String("teacher");
        var teacherLayer = r.String("teacher_layer");
        var studentLayer = r.String("student_layer");
        var weight = r.Number("weight");
        List<string>? students = null;
        var complete = true;
        if (r.List("students") is { } list)
        {
            var item = r.Field("students").Items!;
            students = [];
            for (var i = 0; i < list.Children.Count; i++)
            {
                if (context.ReadString(list.Children[i], SpecPath.Index(r.PathOf("students"), i), item) is { } student)
                {
                    students.Add(student);
                }
                else
                {
                    complete = false;
                }
            }
        }
        else if (r.Node("students") is not null)
        {
            complete = false;
        }

        return teacher is null || teacherLayer is null || studentLayer is null || !complete
            ? null
            : new HintSpec { Teacher = teacher, TeacherLayer = teacherLayer, StudentLayer = studentLayer, Students = students, Weight = weight ?? 1.0 };
    }

    /// <summary>Every peer's teachers: as listed, or every other peer; a frozen peer learns from nobody.</summary>
    private static Dictionary<string, IReadOnlyList<string>> AllToAll(
        IReadOnlyList<string> names, IReadOnlyDictionary<string, IReadOnlyList<string>> listed, IReadOnlySet<string> frozen) =>
        names.ToDictionary(n => n, n => frozen.Contains(n) ? [] : listed.GetValueOrDefault(n) ?? [.. names.Where(o => o != n)], StringComparer.Ordinal);

    private Dictionary<string, IReadOnlyList<string>> ReadTeachers(MappingReader r, IReadOnlyList<string>? names, IReadOnlySet<string> frozen)
    {
        var listed = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (r.Map("teachers") is not { } map)
        {
            return listed;
        }

        var listField = r.Field("teachers").Items!;
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (ReadPeerKey(r.PathOf("teachers"), keyNode, names) is not { } student)
            {
                continue;
            }

            var path = SpecPath.Field(r.PathOf("teachers"), student);
            if (frozen.Contains(student))
            {
                context.Report(path, $"peer {SpecContext.Quote(student)} is frozen: it learns from nobody", keyNode);
                continue;
            }

            if (SpecContext.IsNull(valueNode) || context.ExpectList(valueNode, path, listField) is not { } list)
            {
                if (SpecContext.IsNull(valueNode))
                {
                    context.Report(path, "expected a list of peer names, got nothing", valueNode);
                }

                continue;
            }

            var teachers = new List<string>();
            for (var j = 0; j < list.Children.Count; j++)
            {
                var itemPath = SpecPath.Index(path, j);
                var node = list.Children[j];
                if (context.ReadString(node, itemPath, listField.Items!) is not { } teacher)
                {
                    continue;
                }

                if (teacher == student)
                {
                    context.Report(itemPath, "a peer may not teach itself", node);
                }
                else if (names is not null && !names.Contains(teacher, StringComparer.Ordinal))
                {
                    context.Report(itemPath, UnknownPeer(teacher, names), node);
                }
                else if (teachers.Contains(teacher, StringComparer.Ordinal))
                {
                    context.Report(itemPath, $"duplicate teacher {SpecContext.Quote(teacher)}", node);
                }
                else
                {
                    teachers.Add(teacher);
                }
            }

            listed[student] = teachers;
        }

        return listed;
    }

    private Dictionary<string, double> ReadWeights(MappingReader r, IReadOnlyList<string>? names)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        if (r.Map("weights") is not { } map)
        {
            return weights;
        }

        var valueField = r.Field("weights").Items!;
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (ReadPeerKey(r.PathOf("weights"), keyNode, names) is { } peer &&
                context.ReadNumber(valueNode, SpecPath.Field(r.PathOf("weights"), peer), valueField) is { } weight)
            {
                weights[peer] = weight;
            }
        }

        return weights;
    }

    /// <summary>A map key that must name a peer (checked only when every peer was read).</summary>
    private string? ReadPeerKey(string mapPath, YamlNode keyNode, IReadOnlyList<string>? names)
    {
        if (keyNode is not YamlScalarNode { Value: { } key } || SpecContext.IsNull(keyNode))
        {
            context.Report(mapPath, $"expected a peer name, got {SpecContext.Describe(keyNode)}", keyNode);
            return null;
        }

        if (names is not null && !names.Contains(key, StringComparer.Ordinal))
        {
            context.Report(SpecPath.Field(mapPath, key), UnknownPeer(key, names), keyNode);
            return null;
        }

        return key;
    }

    private static string UnknownPeer(string name, IReadOnlyList<string> names) =>
        $"unknown peer {SpecContext.Quote(name)} (peers: {string.Join(", ", names)})";

    /// <summary>
    /// <c>changes</c>: each entry read by <see cref="ChangeReader"/>, then the rules of
    /// <see cref="CohortChanges"/> and the order of their steps (strictly increasing: one entry per
    /// step). The upper bound of a step needs the data and is checked when the run starts.
    /// </summary>
    private List<CohortChange> ReadChanges(MappingReader root, DistillationSpec distillation)
    {
        var changes = new List<CohortChange>();
        if (root.List("changes") is not { } list)
        {
            return changes;
        }

        var reader = new ChangeReader(context);
        long? previousStep = null;
        var previousIndex = -1;
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = SpecPath.Index(root.PathOf("changes"), i);
            var node = list.Children[i];
            if (reader.Read(node, path, withStep: true) is not { } change)
            {
                continue;
            }

            foreach (var (field, message) in CohortChanges.Problems(distillation, change))
            {
                context.Report(SpecPath.Field(path, field), message, node);
            }

            if (previousStep is { } before && change.Step <= before)
            {
                context.Report(SpecPath.Field(path, "step"), $"must be after changes[{previousIndex}].step ({before}): list changes in step order, one entry per step, got {change.Step}", node);
            }

            (previousStep, previousIndex) = (change.Step, i);
            changes.Add(change);
        }

        return changes;
    }

    private static EvaluationSpec ReadEvaluation(MappingReader? r)
    {
        var d = new EvaluationSpec();
        return r is null
            ? d
            : new EvaluationSpec
            {
                EverySteps = r.Integer("every_steps") ?? d.EverySteps,
                AtEpochEnd = r.Boolean("at_epoch_end") ?? d.AtEpochEnd,
                BatchSize = r.Int32("batch_size") ?? d.BatchSize,
            };
    }

    private static TracingSpec? ReadTracing(MappingReader? r) =>
        r is null ? null : new TracingSpec { EverySteps = r.Integer("every_steps"), SlowerThanMs = r.Number("slower_than_ms") };

    private static CheckpointSpec ReadCheckpoints(MappingReader? r)
    {
        var d = new CheckpointSpec();
        return r is null
            ? d
            : new CheckpointSpec
            {
                Directory = r.String("directory"),
                EverySteps = r.Integer("every_steps") ?? d.EverySteps,
                KeepLast = r.Int32("keep_last") ?? d.KeepLast,
            };
    }

    private ExchangeSpec ReadExchange(MappingReader? r, int classes)
    {
        var d = new ExchangeSpec();
        _federated.Exchange = r;
        if (r is null)
        {
            return d;
        }

        var topk = r.Int32("topk");
        var topkRest = r.String("topk_rest");
        var exchange = new ExchangeSpec
        {
            Mode = r.String("mode") ?? d.Mode,
            MaxStaleness = r.Int32("max_staleness") ?? d.MaxStaleness,
            WireDType = r.String("wire_dtype") ?? d.WireDType,
            TopK = topk ?? d.TopK,
            TopKRest = topkRest ?? d.TopKRest,
            StepTimeoutSeconds = r.Number("step_timeout_seconds") ?? d.StepTimeoutSeconds,
            Quorum = r.Int32("quorum") ?? d.Quorum,
            MaxAbsLogit = r.Number("max_abs_logit") ?? d.MaxAbsLogit,
        };
        CheckTopK(r, exchange, classes, topk is not null, topkRest is not null);
        return exchange;
    }

    // topk and topk_rest belong to wire_dtype topk, whose k must leave classes out (k < classes).
    // A value already refused (out of range, unknown) is not reported a second time.
    private void CheckTopK(MappingReader r, ExchangeSpec exchange, int classes, bool topkRead, bool restRead)
    {
        var known = r.Field("wire_dtype").Allowed!.Contains(exchange.WireDType);
        if (exchange.WireDType != ExchangeSpec.WireTopK)
        {
            foreach (var (key, read) in new[] { ("topk", topkRead), ("topk_rest", restRead) })
            {
                if (known && read && r.Node(key) is { } node)
                {
                    context.Report(r.PathOf(key), $"only for wire_dtype {ExchangeSpec.WireTopK} (wire_dtype is {exchange.WireDType})", node);
                }
            }

            return;
        }

        if (exchange.TopK >= classes && (topkRead || r.Node("topk") is null))
        {
            var given = r.Node("topk");
            var what = given is null ? $"the default {exchange.TopK}" : exchange.TopK.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Report(r.PathOf("topk"), $"{what} is not below the data set's {classes} classes; top-k keeps 1 to {classes - 1} classes per row", given ?? r.Node("wire_dtype")!);
        }
    }
}
