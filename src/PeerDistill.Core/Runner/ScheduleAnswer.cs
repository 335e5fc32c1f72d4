namespace PeerDistill.Core.Runner;

/// <summary>A <see cref="ChangeSchedule"/>'s answer to an announcement or a hold: whether it was taken, and the furthest step started then (-1 before the first).</summary>
public sealed record ScheduleAnswer(bool Accepted, long StartedStep);
