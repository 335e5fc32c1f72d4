using System.Net;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// What one PeerDistill silo is: the coordinator (the primary silo: the cluster's membership, the
/// slot board and the run index live on it) or a worker (slots where peers train), where it
/// listens, whom it joins, and the Orleans timings the cluster runs with (each default a constant
/// here, with why).
/// </summary>
public sealed class SiloSettings
{
    /// <summary>Orleans' cluster id when none is given.</summary>
    public const string DefaultClusterId = "peerdistill";

    /// <summary>
    /// Membership probe timeout: a silo that does not answer probes for this long counts as one
    /// missed probe. Orleans' default is 5 s (with 3 missed probes: a dead silo is declared dead in
    /// about 12 s); 1 s with <see cref="MissedProbesLimit"/> 2 declared a SIGKILLed silo dead in
    /// 0.9-2.3 s on loopback (3 worker silos), well within the 5 s a cohort may lose.
    /// </summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes before a silo votes another dead (Orleans' default is 3).</summary>
    public const int MissedProbesLimit = 2;

    /// <summary>
    /// How long a grain call may wait for its answer (Orleans' default is 30 s). A call in flight
    /// to a silo that dies waits this long; every call of PeerDistill's grains answers in well under
    /// a second (training runs on threads of its own), except a stop, which waits at most 8 s.
    /// </summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The distributed grain directory's range lease (Orleans' default is 30 s). When a silo dies,
    /// the grains whose directory range it held may be activated elsewhere only after the lease,
    /// less the time membership takes to declare a silo dead (8 s with the probes above): 22 s by
    /// default, 1 s with 9 s. The lease guards against a silo declared dead that still runs; for
    /// logits the generation fence on the exchange does that, and a cohort hears only the silo its
    /// peer's current generation was placed on.
    /// </summary>
    public static readonly TimeSpan DirectoryRangeLease = TimeSpan.FromSeconds(9);

    /// <summary><see cref="SiloRoles.Coordinator"/> or <see cref="SiloRoles.Worker"/>.</summary>
    public required string Role { get; init; }

    /// <summary>The silo's name (a worker's id in statuses and events).</summary>
    public required string Name { get; init; }

    /// <summary>Address the silo listens on and advertises to the others (loopback by default).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>Port of Orleans' silo-to-silo endpoint.</summary>
    public required int SiloPort { get; init; }

    /// <summary>The coordinator's silo endpoint a worker joins; null for the coordinator itself (the primary silo).</summary>
    public IPEndPoint? Primary { get; init; }

    public string ClusterId { get; init; } = DefaultClusterId;

    /// <summary>The slots a worker offers (none for the coordinator).</summary>
    public IReadOnlyList<SlotDescriptor> Slots { get; init; } = [];

    /// <summary>The coordinator's output root (runs write under it); null on workers (they learn it from the coordinator).</summary>
    public string? OutputRoot { get; init; }

    /// <summary>The coordinator's checkpoint root; null: the output root.</summary>
    public string? CheckpointRoot { get; init; }

    /// <summary>
    /// The database of grain state (and, on PostgreSQL, of membership: then a worker needs no
    /// <see cref="Primary"/>, it finds the cluster in the membership table). Required of the
    /// coordinator; a worker without one (a cluster on SQLite: one machine's file) hosts no grain
    /// with state, and joins by development clustering around the coordinator.
    /// </summary>
    public ClusterDatabase? Database { get; init; }

    /// <summary>The files of mutual TLS on the silo's connections (every silo of the cluster the same, checked); null: cleartext.</summary>
    public Security.ClusterTlsOptions? Tls { get; init; }

    /// <summary>
    /// Whether this silo runs in a Kubernetes pod (default: whether the kubelet's
    /// <c>KUBERNETES_SERVICE_HOST</c> is set, as it is in every container of a pod). Orleans' Kubernetes
    /// hosting then reads the pod from <c>POD_NAME</c>, <c>POD_NAMESPACE</c> and <c>POD_IP</c>.
    /// </summary>
    public bool InKubernetesPod { get; init; } = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));

    /// <summary>When this silo's process set it up (for the coordinator: the cluster's incarnation).</summary>
    public long StartedUnixMillis { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>The endpoint a silo joins: its coordinator's, or its own for the coordinator.</summary>
    public IPEndPoint PrimaryEndpoint => Primary ?? new IPEndPoint(Address, SiloPort);

    /// <summary>The cluster, as people read it: the one of its primary silo, or the one its database's membership table lists.</summary>
    public string ClusterDescription => Database is { HostsMembership: true }
        ? $"the cluster '{ClusterId}' (membership in its database)"
        : $"the cluster of {PrimaryEndpoint}";

    /// <summary>The silo metadata it publishes (role, slots, and the coordinator's roots).</summary>
    public Dictionary<string, string> Metadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [SiloRoles.RoleKey] = Role };
        if (Slots.Count > 0)
        {
            metadata[SiloRoles.SlotsKey] = SiloRoles.FormatSlots(Slots);
        }

        if (Role == SiloRoles.Coordinator)
        {
            metadata[SiloRoles.OutputRootKey] = Path.GetFullPath(OutputRoot!);
            metadata[SiloRoles.CheckpointRootKey] = Path.GetFullPath(CheckpointRoot ?? OutputRoot!);
        }

        if (Database is not null)
        {
            metadata[SiloRoles.DatabaseKey] = "yes";
        }

        return metadata;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (Role is not (SiloRoles.Coordinator or SiloRoles.Worker))
        {
            throw new ArgumentException($"silo role '{Role}' is neither '{SiloRoles.Coordinator}' nor '{SiloRoles.Worker}'");
        }

        if (SiloPort is < 1 or > 65535)
        {
            throw new ArgumentException($"silo port {SiloPort} is not a port (1 to 65535)");
        }

        Database?.Validate();
        if (Role == SiloRoles.Worker && ((Primary is null && Database is not { HostsMembership: true }) || Slots.Count == 0))
        {
            throw new ArgumentException("a worker silo needs the coordinator's endpoint (or a PostgreSQL database) and at least one slot");
        }

        if (Role == SiloRoles.Coordinator && (string.IsNullOrWhiteSpace(OutputRoot) || Database is null))
        {
            throw new ArgumentException("the coordinator silo needs an output root and a database");
        }

        if (Slots.Select(s => s.Index).Distinct().Count() != Slots.Count)
        {
            throw new ArgumentException("slot indexes must be unique");
        }
    }
}
