namespace PeerDistill.Core.Spec;

/// <summary>What <see cref="CohortChanges.ParseUpdate"/> made of a live update: the change when it is valid, otherwise every problem found.</summary>
public sealed record ChangeLoadResult(CohortChange? Change, IReadOnlyList<SpecError> Errors)
{
    public bool IsValid => Change is not null;

    /// <summary>The errors, one per line (empty when valid).</summary>
    public override string ToString() => string.Join(Environment.NewLine, Errors);
}
