using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// A YAML event stream that stops at <see cref="SpecLimits.MaxDepth"/> levels of nesting and
/// <see cref="SpecLimits.MaxNodes"/> nodes. YamlDotNet builds its node tree recursively, so a
/// deeply nested document overflows the stack (which .NET cannot catch) unless the events are cut
/// off before the tree is built; counting them as they are read keeps the work linear too.
/// </summary>
internal sealed class BoundedParser(IParser inner) : IParser
{
    private int _depth;
    private int _nodes;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        switch (inner.Current)
        {
            case MappingStart or SequenceStart:
                if (++_depth > SpecLimits.MaxDepth)
                {
                    throw new SpecLimitException(
                        $"nested deeper than {SpecLimits.MaxDepth} levels of mappings and lists (the limit for a spec)", inner.Current.Start);
                }

                Count();
                break;
            case MappingEnd or SequenceEnd:
                _depth--;
                break;
            case Scalar or AnchorAlias:
                Count();
                break;
        }

        return true;
    }

    private void Count()
    {
        if (++_nodes > SpecLimits.MaxNodes)
        {
            throw new SpecLimitException($"more than {SpecLimits.MaxNodes} values (the limit for a spec)", inner.Current!.Start);
        }
    }
}
