using System.Text.Json;
using PeerDistill.Core.Spec;
using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>The spec's <c>changes</c> and live updates: what may change, with the ranges of the fields they change, and why the rest may not.</summary>
public class ChangeSpecTests
{
    [Fact]
    public void ChangesOfEveryChangeableField_AreReadInStepOrder()
    {
        var result = Parse(With("""
            changes:
              - step: 10
                distillation: {alpha: 0.5, alpha_warmup_steps: 20, temperature: 4}
                lr_scale: 0.1
              - step: 30
                evaluation: {every_steps: 5, at_epoch_end: false}
                checkpoints: {every_steps: 7}
            """));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(
            [
                new CohortChange { Step = 10, Alpha = 0.5, AlphaWarmupSteps = 20, Temperature = 4, LearningRateScale = 0.1 },
                new CohortChange { Step = 30, EvaluationEverySteps = 5, EvaluationAtEpochEnd = false, CheckpointEverySteps = 7 },
            ],
            result.Spec.Changes);
        Assert.Equal("distillation.alpha=0.5, distillation.alpha_warmup_steps=20, distillation.temperature=4, lr_scale=0.1 from step 10", result.Spec.Changes[0].ToString());
    }

    [Fact]
    public void NoChanges_IsAnEmptyList()
    {
        var result = Parse(Minimal);
        Assert.True(result.IsValid, result.ToString());
        Assert.Empty(result.Spec.Changes);
    }

    public static TheoryData<string, string, string> Refusals() => new()
    {
        { "- {step: 5, lr_scale: 2}\n  - {step: 6, lr_scale: 1}\n  - {step: 9, data: {batch_size: 64}}", "changes[2].data.batch_size", "cannot change while a cohort runs (it changes the data set or the batches" },
        { "- {step: 5, distillation: {strategy: none}}", "changes[0].distillation.strategy", "cannot change while a cohort runs (it changes who teaches whom or the form of the loss" },
        { "- {step: 5, peers: [{name: a}]}", "changes[0].peers", "cannot change while a cohort runs (it changes the peers' models" },
        { "- {step: 5, exchange: {mode: bounded-staleness}}", "changes[0].exchange.mode", "cannot change while a cohort runs (it changes how logits cross" },
        { "- {step: 5, evaluation: {batch_size: 10}}", "changes[0].evaluation.batch_size", "cannot change while a cohort runs (only the cadence of evaluation changes" },
        { "- {step: 5, checkpoints: {keep_last: 1}}", "changes[0].checkpoints.keep_last", "cannot change while a cohort runs (each peer's checkpoint store prunes by it" },
        { "- {step: 5, output: elsewhere}", "changes[0].output", "cannot change while a cohort runs (the run writes its metrics and summary there" },
        { "- {step: 5, distillation: {alpah: 1}}", "changes[0].distillation.alpah", "unknown field (known: strategy, temperature, alpha" },
        { "- {step: 5, speed: 2}", "changes[0].speed", "unknown field (known: step, lr_scale, distillation, evaluation, checkpoints)" },
        { "- {lr_scale: 2}", "changes[0].step", "missing required field" },
        { "- {step: 0, lr_scale: 2}", "changes[0].step", "must be in [1, 1000000000], got 0" },
        { "- {step: 5}", "changes[0]", "changes nothing" },
        { "- {step: 5, lr_scale: -1}", "changes[0].lr_scale", "must be in [0, 100], got -1" },
        { "- {step: 5, distillation: {alpha: 101}}", "changes[0].distillation.alpha", "must be in [0, 100], got 101" },
        { "- {step: 5, distillation: {temperature: 0}}", "changes[0].distillation.temperature", "must be in [0.01, 100], got 0" },
        { "- {step: 5, checkpoints: {every_steps: 0}}", "changes[0].checkpoints.every_steps", "must be in [1, 1000000000], got 0" },
        { "- {step: 5, evaluation: {at_epoch_end: sometimes}}", "changes[0].evaluation.at_epoch_end", "expected true or false" },
        { "- {step: 9, lr_scale: 2}\n  - {step: 9, distillation: {alpha: 2}}", "changes[1].step", "must be after changes[0].step (9): list changes in step order, one entry per step, got 9" },
        { "- {step: 9, lr_scale: 2}\n  - {step: 3, lr_scale: 1}", "changes[1].step", "must be after changes[0].step (9)" },
        { "{step: 9}", "changes", "expected a list, got a mapping" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadChange_ReportsOneErrorAtItsPath(string changes, string path, string message)
    {
        var result = Parse(With("changes:\n  " + changes));
        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1, $"no position: {error}");
    }

    [Theory]
    [InlineData("fedmd", "distillation.alpha", "only strategies dml and multi-teacher weight a distillation term by alpha (strategy is fedmd)")]
    [InlineData("none", "distillation.temperature", "strategy none does not distil")]
    public void ChangeTheStrategyDoesNotTake_IsRefusedWithWhy(string strategy, string field, string message)
    {
        var spec = Parse(Minimal)!.Spec! with { Distillation = new DistillationSpec { Strategy = strategy } };
        var change = field == "distillation.alpha" ? new CohortChange { Alpha = 0.5 } : new CohortChange { Temperature = 2 };
        var problem = Assert.Single(CohortChanges.Problems(spec, change));
        Assert.Equal((field, message), problem);
    }

    [Fact]
    public void AlphaAboveOne_WithConvexCombine_IsRefused()
    {
        var result = Parse(With("distillation:\n  combine: convex\nchanges:\n  - {step: 4, distillation: {alpha: 2}}"));
        var error = Assert.Single(result.Errors);
        Assert.Equal("changes[0].distillation.alpha", error.Path);
        Assert.Contains("must be <= 1 when combine is convex", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangeBeyondTheRun_IsNamedWhenTheStepsAreKnown()
    {
        var spec = Parse(With("changes:\n  - {step: 5, lr_scale: 2}\n  - {step: 50, lr_scale: 1}")).Spec!;
        Assert.Null(CohortChanges.StepProblem(spec, 51));
        Assert.Equal("changes[1].step: must be below the run's 50 steps (a change holds from its step on), got 50", CohortChanges.StepProblem(spec, 50));
    }

    [Fact]
    public void LiveUpdate_IsReadWithoutAStep()
    {
        var spec = Parse(Minimal).Spec!;
        var update = CohortChanges.ParseUpdate("{distillation: {alpha: 0.25}, lr_scale: 0.5}", spec);
        Assert.True(update.IsValid, update.ToString());
        Assert.Equal(new CohortChange { Alpha = 0.25, LearningRateScale = 0.5 }, update.Change);
    }

    [Theory]
    [InlineData("{step: 4, lr_scale: 2}", "step", "a live update takes no step")]
    [InlineData("{data: {batch_size: 64}}", "data.batch_size", "cannot change while a cohort runs (it changes the data set")]
    [InlineData("{distillation: {alpha: -1}}", "distillation.alpha", "must be in [0, 100], got -1")]
    [InlineData("[1, 2]", "", "expected a mapping, got a list")]
    [InlineData("{}", "", "changes nothing")]
    [InlineData("{lr_scale: [", "", "")]
    public void BadLiveUpdate_IsRefusedWithThePath(string text, string path, string message)
    {
        var update = CohortChanges.ParseUpdate(text, Parse(Minimal).Spec!);
        Assert.False(update.IsValid);
        var error = Assert.Single(update.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_DocumentsExactlyTheChangeableFields()
    {
        using var schema = JsonDocument.Parse(SpecSchema.ToJsonSchema());
        var change = schema.RootElement.GetProperty("properties").GetProperty("changes").GetProperty("items");
        Assert.Equal(["step", "lr_scale", "distillation", "evaluation", "checkpoints"], change.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.False(change.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(["alpha", "alpha_warmup_steps", "temperature"], change.GetProperty("properties").GetProperty("distillation").GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, change.GetProperty("properties").GetProperty("step").GetProperty("minimum").GetDouble());
        Assert.False(change.GetProperty("properties").GetProperty("distillation").GetProperty("properties").GetProperty("alpha").TryGetProperty("default", out _));
    }
}
