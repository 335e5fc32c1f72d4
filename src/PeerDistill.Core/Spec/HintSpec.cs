namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>distillation.hint</c> (strategy multi-teacher): a hint term (FitNets, Romero et al. 2015)
/// between the named intermediate output <see cref="TeacherLayer"/> of the frozen teacher
/// <see cref="Teacher"/> and <see cref="StudentLayer"/> of each of its <see cref="Students"/>,
/// through a learned projection of the student's channels onto the teacher's, added to the loss as
/// <see cref="Weight"/> * MSE.
/// </summary>
public sealed record HintSpec
{
    /// <summary><c>teacher</c>: a frozen peer.</summary>
    public required string Teacher { get; init; }

    /// <summary><c>teacher_layer</c>: a named output of the teacher's model.</summary>
    public required string TeacherLayer { get; init; }

    /// <summary><c>student_layer</c>: a named output of each student's model.</summary>
    public required string StudentLayer { get; init; }

    /// <summary><c>students</c>: the students that take the hint; null (the default) for every student that learns from the teacher.</summary>
    public IReadOnlyList<string>? Students { get; init; }

    /// <summary><c>weight</c> of the hint term. Default 1.</summary>
    public double Weight { get; init; } = 1.0;
}
