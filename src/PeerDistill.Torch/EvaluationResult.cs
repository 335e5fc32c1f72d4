namespace PeerDistill.Torch;

/// <summary>Accuracy and mean cross-entropy of a model over a data set.</summary>
public sealed record EvaluationResult(int Count, int Correct, double MeanLoss)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}
