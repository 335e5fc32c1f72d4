using System.Net;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// What a worker process is: whom it joins, its slots, where it listens and under which id. Bound
/// from the configuration section <see cref="Section"/> (the <c>worker</c> command's flags, the
/// environment's <c>PEERDISTILL_WORKER__*</c> variables and an optional JSON file, in that order of
/// precedence); every default is a constant here.
/// </summary>
public sealed class WorkerOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "Worker";

    /// <summary>The address a worker listens on unless told otherwise: loopback (one machine).</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>The most slots one worker offers.</summary>
    public const int MaxSlots = 256;

    /// <summary>The longest worker id, in characters.</summary>
    public const int MaxIdLength = 64;

    /// <summary>The coordinator's cluster endpoint (<c>host:port</c>, printed by the coordinator); required unless <see cref="Database"/> is given.</summary>
    public string? Coordinator { get; set; }

    /// <summary>
    /// The connection string of the coordinator's PostgreSQL database: the worker joins the cluster
    /// through its membership table and may host the cohorts' grains (their state is kept there).
    /// Null: the worker joins the coordinator's endpoint and hosts no grain with state (a cluster on SQLite).
    /// </summary>
    public string? Database { get; set; }

    /// <summary>Peers this worker trains at once; null: one per visible GPU, else one per two CPU cores.</summary>
    public int? Slots { get; set; }

    /// <summary>The device of each slot, comma-separated (<c>cpu</c>, <c>cuda:N</c>); null: the visible GPUs, else cpu.</summary>
    public string? Devices { get; set; }

    /// <summary>The address the silo and the PeerExchange listen on (default <see cref="DefaultHost"/>).</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The PeerExchange's port; 0 (the default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>The silo's port; 0 (the default) picks a free one.</summary>
    public int ClusterPort { get; set; }

    /// <summary>The Orleans cluster id: the coordinator's (default <see cref="SiloSettings.DefaultClusterId"/>).</summary>
    public string ClusterId { get; set; } = SiloSettings.DefaultClusterId;

    /// <summary>The worker id, the silo's name in statuses and events; null: <c>w-</c> and a random suffix.</summary>
    public string? Id { get; set; }

    /// <summary>The address other workers reach this one's PeerExchange at, if not the one it listens on (host:port; with a scheme, https exactly when <see cref="Tls"/> is set).</summary>
    public string? Advertise { get; set; }

    /// <summary>Mutual TLS on the silo connections and the PeerExchange (its port then requires a certificate of the cluster's authority, and the worker presents its own to the others'): this node's certificate and key and the cluster's authority (<c>Tls:Certificate</c>, <c>Tls:Key</c>, <c>Tls:Authority</c>), read again when they change.</summary>
    public PeerDistill.Cluster.Security.ClusterTlsOptions Tls { get; set; } = new();

    /// <summary>What the process reports through OpenTelemetry besides OTLP (subsection <c>Telemetry</c>): a Prometheus scrape port, which training steps are traced.</summary>
    public PeerDistill.Cluster.Hosting.TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Listen beyond loopback although the cluster's connections carry no credentials (a network the operator trusts; not needed with <see cref="Tls"/>, which protects every connection); default false.</summary>
    public bool Insecure { get; set; }

    /// <summary>
    /// For the distributed bench's baseline only (internal: never bound from configuration, so no flag,
    /// variable or file can set it): while true, this worker's exchange attaches no ticket to the streams
    /// its peers send on and requires none on the streams it serves, so that one bench run measures the
    /// exchange with and without tickets. Default false: every stream carries a ticket and is checked.
    /// </summary>
    internal bool ExchangeTicketsOff { get; set; }

    /// <summary>Each problem of these options: the key (under <see cref="Section"/>) and what is wrong with it.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (string.IsNullOrWhiteSpace(Coordinator))
        {
            if (string.IsNullOrWhiteSpace(Database))
            {
                yield return (nameof(Coordinator), "required: the coordinator's cluster endpoint (host:port, printed by `peerdistill coordinator`), or the cluster's PostgreSQL database (Worker:Database)");
            }
        }
        else if (!IPEndPoint.TryParse(Coordinator, out var primary) || primary.Port == 0)
        {
            yield return (nameof(Coordinator), $"'{Coordinator}' is not a host:port endpoint (the coordinator prints its cluster endpoint)");
        }

        if (Slots is < 1 or > MaxSlots)
        {
            yield return (nameof(Slots), $"must be 1 to {MaxSlots}, got {Slots}");
        }

        if (Devices is not null)
        {
            var devices = DeviceList(Devices);
            var bad = devices.FirstOrDefault(d => !IsDevice(d));
            if (devices.Count == 0 || bad is not null)
            {
                yield return (nameof(Devices), $"'{bad ?? Devices}' is not a device (cpu or cuda:N)");
            }
            else if (Slots is { } slots and >= 1 && slots != devices.Count)
            {
                yield return (nameof(Slots), $"{slots} disagrees with {Section}:{nameof(Devices)}, which names {devices.Count} slot(s)");
            }
        }

        foreach (var problem in ListenSettings.Problems((nameof(Host), Host), (nameof(Port), Port), (nameof(ClusterPort), ClusterPort), (nameof(ClusterId), ClusterId), "give the coordinator's cluster id"))
        {
            yield return problem;
        }

        if (ListenSettings.ExposureProblem((nameof(Host), Host), Insecure, Tls.IsConfigured) is { } exposed)
        {
            yield return exposed;
        }

        foreach (var (key, message) in Tls.Problems())
        {
            yield return (nameof(Tls) + ":" + key, message);
        }

        foreach (var problem in Telemetry.Problems())
        {
            yield return problem;
        }

        if (Id is { } id)
        {
            if (id.Length is 0 or > MaxIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                yield return (nameof(Id), $"'{id}' is not a worker id (1 to {MaxIdLength} letters, digits, '-', '_' or '.')");
            }
            else if (id == SiloRoles.Coordinator)
            {
                yield return (nameof(Id), $"'{id}' names the coordinator's silo; give this worker another id");
            }
        }

        if (Advertise is { } advertise)
        {
            if (HostedRun.NormalizeAddress(advertise) is not { Length: > 0 } normalized || new Uri(normalized).Scheme is not ("http" or "https"))
            {
                yield return (nameof(Advertise), $"'{advertise}' is not an address other workers can reach (host:port or http://host:port)");
            }
            else if (advertise.Contains("://", StringComparison.Ordinal) && Tls.IsConfigured != (new Uri(normalized).Scheme == "https"))
            {
                yield return (nameof(Advertise), Tls.IsConfigured
                    ? $"'{advertise}' is a cleartext address, but with TLS ({Section}:{nameof(Tls)}) the PeerExchange serves https: give host:port or https://host:port"
                    : $"'{advertise}' is an https address, but without TLS ({Section}:{nameof(Tls)}) the PeerExchange serves cleartext: give host:port or http://host:port");
            }
        }
    }

    /// <summary>The devices of a comma-separated list, trimmed.</summary>
    public static List<string> DeviceList(string devices) =>
        devices.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    private static bool IsDevice(string device) =>
        device == "cpu" || (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out var n) && n >= 0);
}
