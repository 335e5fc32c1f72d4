using System.Collections.Immutable;
using System.Globalization;

namespace PeerDistill.Cluster.Placement;

/// <summary>
/// What a silo tells the cluster about itself in its Orleans silo metadata: its role (coordinator
/// or worker), its slots, and for the coordinator the roots every run writes under. Read back by
/// placement and by the silos that need the roots.
/// </summary>
public static class SiloRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";

    public const string RoleKey = "peerdistill.role";
    public const string SlotsKey = "peerdistill.slots";
    public const string OutputRootKey = "peerdistill.output-root";
    public const string CheckpointRootKey = "peerdistill.checkpoint-root";

    /// <summary>Present (<c>yes</c>) on a silo that holds the cluster's database: it may host grains with state.</summary>
    public const string DatabaseKey = "peerdistill.database";

    /// <summary><c>index=device/threads</c> per slot, separated by <c>;</c>.</summary>
    public static string FormatSlots(IEnumerable<SlotDescriptor> slots) =>
        string.Join(';', slots.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Index}={s.Device}/{s.Threads}")));

    /// <summary>The slots in a silo's metadata; none when the silo has none (or the entry does not parse).</summary>
    public static IReadOnlyList<SlotDescriptor> ParseSlots(ImmutableDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue(SlotsKey, out var text) || string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var slots = new List<SlotDescriptor>();
        foreach (var item in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=');
            var slash = item.LastIndexOf('/');
            if (eq <= 0 || slash <= eq
                || !int.TryParse(item.AsSpan(0, eq), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                || !int.TryParse(item.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var threads))
            {
                return [];
            }

            slots.Add(new SlotDescriptor(index, item[(eq + 1)..slash], threads));
        }

        return slots;
    }

    /// <summary>What a silo offers peers: its slots if its metadata says it is a worker with slots; null otherwise.</summary>
    public static SiloOffer? OfferOf(SiloAddress silo, string name, ImmutableDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var slots = Role(metadata) == Worker ? ParseSlots(metadata) : [];
        return slots.Count > 0 ? new SiloOffer(silo.ToParsableString(), name, slots) : null;
    }

    public static string? Role(ImmutableDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue(RoleKey, out var role) ? role : null;
}
