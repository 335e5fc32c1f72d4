namespace PeerDistill.Torch;

/// <summary>Learning-rate schedules, driven per step.</summary>
public enum ScheduleKind
{
    Constant,

    /// <summary>Multiply by <see cref="LearningRateSchedule.Gamma"/> every <see cref="LearningRateSchedule.StepSize"/> steps.</summary>
    Step,

    /// <summary>Cosine decay from the base rate to <see cref="LearningRateSchedule.MinLearningRate"/> over the run.</summary>
    Cosine,
}
