using System.Diagnostics.CodeAnalysis;

namespace PeerDistill.Core.Spec;

/// <summary>What <see cref="SpecLoader"/> made of a spec: the spec when it is valid, otherwise every problem found.</summary>
public sealed class SpecLoadResult
{
    internal SpecLoadResult(CohortSpec? spec, IReadOnlyList<SpecError> errors)
    {
        Spec = errors.Count == 0 ? spec ?? throw new ArgumentNullException(nameof(spec)) : null;
        Errors = errors;
    }

    /// <summary>The spec, with defaults applied; null when there are errors.</summary>
    public CohortSpec? Spec { get; }

    /// <summary>Every problem, in document order; each formats to one line.</summary>
    public IReadOnlyList<SpecError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Spec))]
    public bool IsValid => Spec is not null;

    /// <summary>The errors, one per line (empty when valid).</summary>
    public override string ToString() => string.Join(Environment.NewLine, Errors);
}
