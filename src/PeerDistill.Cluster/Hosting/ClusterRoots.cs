using Orleans.Runtime.MembershipService.SiloMetadata;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// Where the cluster's runs write: the coordinator's output, checkpoint and grain-state roots. The
/// coordinator knows them from its options; every other silo reads them from the coordinator's
/// silo metadata (trusted: only silos of the cluster publish metadata). A silo writes nowhere else.
/// </summary>
public sealed class ClusterRoots(SiloSettings settings, IClusterMembershipService membership, ISiloMetadataCache metadata)
{
    private Roots? _roots = settings.Role == SiloRoles.Coordinator
        ? new Roots(Path.GetFullPath(settings.OutputRoot!), Path.GetFullPath(settings.CheckpointRoot ?? settings.OutputRoot!))
        : null;

    public string OutputRoot => Get().Output;

    public string CheckpointRoot => Get().Checkpoint;

    private Roots Get()
    {
        if (_roots is { } known)
        {
            return known;
        }

        foreach (var member in membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active))
        {
            var data = metadata.GetSiloMetadata(member.SiloAddress)?.Metadata;
            if (SiloRoles.Role(data) == SiloRoles.Coordinator
                && data!.TryGetValue(SiloRoles.OutputRootKey, out var output)
                && data.TryGetValue(SiloRoles.CheckpointRootKey, out var checkpoint))
            {
                return _roots = new Roots(output, checkpoint);
            }
        }

        throw new InvalidOperationException("the coordinator silo is not in this silo's view of the cluster: its roots are unknown");
    }

    private sealed record Roots(string Output, string Checkpoint);
}
