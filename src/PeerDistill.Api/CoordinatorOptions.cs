using PeerDistill.Api.Storage;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Api;

/// <summary>
/// What a coordinator process is: where its cohort API and its silo listen, its cluster id, and where
/// runs write. Bound from the configuration section <see cref="Section"/> (the <c>coordinator</c>
/// command's flags, the environment's <c>PEERDISTILL_COORDINATOR__*</c> variables and an optional
/// JSON file, in that order of precedence); every default is a constant here.
/// </summary>
public sealed class CoordinatorOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "Coordinator";

    /// <summary>The address the API and the silo listen on unless told otherwise: loopback (one machine).</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>The cohort API's gRPC port (HTTP/2) unless told otherwise.</summary>
    public const int DefaultPort = 7070;

    /// <summary>The REST API's port (HTTP/1.1: browsers, curl, scripts) unless told otherwise.</summary>
    public const int DefaultHttpPort = 7080;

    /// <summary>The silo's port, which workers join, unless told otherwise (Orleans' usual silo port).</summary>
    public const int DefaultClusterPort = 11111;

    /// <summary>Where runs write unless told otherwise (relative to the working directory).</summary>
    public const string DefaultOutput = "runs";

    /// <summary>Where the coordinator keeps its own files (the SQLite database) unless told otherwise (relative to the working directory).</summary>
    public const string DefaultDataDirectory = "data";

    /// <summary>The address to listen on (default <see cref="DefaultHost"/>); <c>0.0.0.0</c> or <c>::</c> for every interface.</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The cohort API's gRPC port (HTTP/2; with <see cref="Tls"/>, TLS with HTTP/2 and HTTP/1.1, REST too; default <see cref="DefaultPort"/>); 0 picks a free one (printed).</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>The cohort API's REST port (HTTP/1.1; with <see cref="Tls"/>, TLS with HTTP/1.1 and HTTP/2, gRPC too; default <see cref="DefaultHttpPort"/>); 0 picks a free one (printed).</summary>
    public int HttpPort { get; set; } = DefaultHttpPort;

    /// <summary>The silo's port (default <see cref="DefaultClusterPort"/>); 0 picks a free one (printed).</summary>
    public int ClusterPort { get; set; } = DefaultClusterPort;

    /// <summary>The Orleans cluster id (default <see cref="SiloSettings.DefaultClusterId"/>); workers use the same.</summary>
    public string ClusterId { get; set; } = SiloSettings.DefaultClusterId;

    /// <summary>Where cohort runs write their outputs (default <see cref="DefaultOutput"/>); shared with the workers.</summary>
    public string Output { get; set; } = DefaultOutput;

    /// <summary>The coordinator's own files (default <see cref="DefaultDataDirectory"/>): the SQLite database, unless <see cref="Database"/> names another.</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>
    /// Where runs, their events and metrics, and the cluster's grain state are kept (subsection
    /// <c>Database</c>): SQLite in <see cref="DataDirectory"/> by default, PostgreSQL with a connection string.
    /// </summary>
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>TLS on every endpoint (both API ports; mutual on the silo connections): this node's certificate and key and the cluster's authority (<c>Tls:Certificate</c>, <c>Tls:Key</c>, <c>Tls:Authority</c>), read again when they change. API callers present no certificate.</summary>
    public PeerDistill.Cluster.Security.ClusterTlsOptions Tls { get; set; } = new();

    /// <summary>Who may call the API and how often (subsection <c>Access</c>): the first admin token's file, JWT bearer, rate limits.</summary>
    public Access.AccessOptions Access { get; set; } = new();

    /// <summary>What the process reports through OpenTelemetry besides OTLP (subsection <c>Telemetry</c>): a Prometheus scrape port, which training steps are traced.</summary>
    public PeerDistill.Cluster.Hosting.TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Listen beyond loopback although the cluster's connections carry no credentials (a network the operator trusts); default false.</summary>
    public bool Insecure { get; set; }

    /// <summary>Each problem of these options: the key (under <see cref="Section"/>) and what is wrong with it.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        foreach (var problem in ListenSettings.Problems((nameof(Host), Host), (nameof(Port), Port), (nameof(ClusterPort), ClusterPort), (nameof(ClusterId), ClusterId), "name the cluster (workers give the same id)"))
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

        if (HttpPort is < 0 or > 65535)
        {
            yield return (nameof(HttpPort), $"{HttpPort} is not a port (0 to 65535; 0 picks a free one)");
        }
        else if (HttpPort != 0 && (HttpPort == Port || HttpPort == ClusterPort))
        {
            yield return (nameof(HttpPort), $"{HttpPort} is also the {(HttpPort == Port ? nameof(Port) : nameof(ClusterPort))}; the REST API needs a port of its own");
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            yield return (nameof(DataDirectory), "is empty; name the directory the coordinator keeps its database in");
        }

        foreach (var (key, message) in Database.Problems())
        {
            yield return (nameof(Database) + ":" + key, message);
        }

        foreach (var (key, message) in Access.Problems())
        {
            yield return (nameof(Access) + ":" + key, message);
        }

        if (string.IsNullOrWhiteSpace(Output))
        {
            yield return (nameof(Output), "is empty; name the directory runs write to");
        }
    }
}
