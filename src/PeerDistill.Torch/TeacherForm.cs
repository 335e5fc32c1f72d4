namespace PeerDistill.Torch;

/// <summary>How several teachers' logits form the distillation target.</summary>
public enum TeacherForm
{
    /// <summary>Weighted mean of KL(p_i || p_student) over the teachers (the DML paper's form).</summary>
    Pairwise = 0,

    /// <summary>KL(sum_i w_i p_i || p_student): one target, the weighted ensemble of softened probabilities.</summary>
    Ensemble = 1,
}
