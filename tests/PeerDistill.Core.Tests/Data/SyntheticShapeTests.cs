using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Data;

/// <summary>
/// DataSpec.SyntheticShape (set from code by the GPU benchmark): the cohort's data, its splits and
/// its batches take the shape given, and a model built for that shape trains on them.
/// </summary>
public sealed class SyntheticShapeTests
{
    [Fact]
    public void CifarShapedSyntheticData_GivesThatShapeToEverySplitAndBatch()
    {
        var shape = new InputShape(3, 32, 32);
        var data = CohortData.Load(new DataSpec { Dataset = "synthetic", BatchSize = 16, SyntheticTrainCount = 64, SyntheticTestCount = 32, SyntheticShape = shape });

        Assert.Equal((shape, shape, shape), (data.Train.Shape, data.Evaluation.Shape, data.Test.Shape));
        Assert.Equal((64, 32), (data.Train.Count, data.Test.Count));
        Assert.Equal(3 * 32 * 32, data.Train.Image(0).Length);

        var batch = data.NewBuilder().Build(Enumerable.Range(0, 16).ToArray(), epoch: 0, batchIndex: 0);
        using var images = batch.ImagesTensor();
        Assert.Equal(new long[] { 16, 3, 32, 32 }, images.Shape);
        using var model = Model.Create("resnet20", data.Shape, data.Classes, seed: 1);
        using var logits = model.Predict(images);
        Assert.Equal(new long[] { 16, 10 }, logits.Shape);
    }

    [Fact]
    public void WithoutAShape_SyntheticDataIsFashionShaped()
    {
        var data = CohortData.Load(new DataSpec { Dataset = "synthetic", SyntheticTrainCount = 8, SyntheticTestCount = 8 });
        Assert.Equal(new InputShape(1, 28, 28), data.Shape);
    }
}
