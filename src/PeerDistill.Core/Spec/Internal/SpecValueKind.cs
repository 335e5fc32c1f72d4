namespace PeerDistill.Core.Spec.Internal;

/// <summary>What a spec field holds, as the loader reads it and the schema describes it.</summary>
internal enum SpecValueKind
{
    String,
    Integer,
    Number,
    Boolean,

    /// <summary>A mapping with fixed fields (<see cref="SpecField.Object"/>).</summary>
    Object,

    /// <summary>A sequence of <see cref="SpecField.Items"/>.</summary>
    List,

    /// <summary>A mapping with free keys (<see cref="SpecField.KeyPattern"/>) and values of <see cref="SpecField.Items"/>.</summary>
    Map,

    /// <summary>A scalar or a list of scalars (a model option: 0.2, 2, or [512, 256]).</summary>
    ScalarOrList,
}
