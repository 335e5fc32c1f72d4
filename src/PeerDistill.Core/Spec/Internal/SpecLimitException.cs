using YamlDotNet.Core;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>A spec beyond one of <see cref="SpecLimits"/>, at <see cref="At"/>.</summary>
internal sealed class SpecLimitException(string message, Mark at) : Exception(message)
{
    public Mark At { get; } = at;
}
