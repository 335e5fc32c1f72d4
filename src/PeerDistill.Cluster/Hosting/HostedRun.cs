using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Exchange;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// One cohort run as seen by one worker: its spec and data (loaded once), the directory of where
/// its peers are, the exchange hub and links, and the peers of it this worker trains, each on its
/// own thread through the same step loop as the embedded runner.
/// </summary>
internal sealed class HostedRun : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, HostedPeer> _peers = new(StringComparer.Ordinal);
    private readonly ExchangeRegistry _registry;
    private readonly ILogger _logger;

    private HostedRun(string run, CohortSpec spec, CohortData data, IDistillationStrategy strategy, ExchangeHub hub, GrpcLogitExchange exchange, ExchangeRegistry registry, ILogger logger)
    {
        _registry = registry;
        Run = run;
        Spec = spec;
        Data = data;
        Strategy = strategy;
        Hub = hub;
        Exchange = exchange;
        _logger = logger;
    }

    public string Run { get; }

    /// <summary>The spec exactly as the coordinator sent it (every assignment of the run carries the same).</summary>
    public required string SpecText { get; init; }

    public CohortSpec Spec { get; }

    public CohortData Data { get; }

    public IDistillationStrategy Strategy { get; }

    public ExchangeHub Hub { get; }

    public GrpcLogitExchange Exchange { get; }

    public CohortDirectory Directory => Hub.Directory;

    public IEnumerable<HostedPeer> Peers => _peers.Values;

    /// <summary>
    /// Reads the assignment's spec (within <see cref="SpecLimits"/>) and loads its data. Throws
    /// <see cref="InvalidOperationException"/> when the spec is invalid or does not name the
    /// assignment's cohort and peer.
    /// </summary>
    public static HostedRun Create(PeerAssignment assignment, string localAddress, Func<string, GrpcChannel> channelFor, ExchangeRegistry registry, ILogger logger, Core.Telemetry.TraceSampling tracing)
    {
        var loaded = SpecLoader.Parse(assignment.SpecText, assignment.SpecFormat == "json" ? "assignment.json" : "assignment.yaml");
        if (loaded.Spec is not { } spec)
        {
            throw new InvalidOperationException($"the spec of cohort '{assignment.Cohort}' is invalid: {string.Join("; ", loaded.Errors.Take(5))}");
        }

        if (spec.Cohort != assignment.Cohort)
        {
            throw new InvalidOperationException($"the assignment is for cohort '{assignment.Cohort}' but its spec is of cohort '{spec.Cohort}'");
        }

        if (!HasPeer(spec, assignment.Peer))
        {
            throw new InvalidOperationException($"cohort '{spec.Cohort}' has no peer '{assignment.Peer}' (peers: {string.Join(", ", spec.Peers.Select(p => p.Name))})");
        }

        var data = CohortData.Load(spec);
        if (CohortChanges.StepProblem(spec, data.TotalSteps) is { } problem)
        {
            throw new InvalidOperationException($"the spec of cohort '{spec.Cohort}' is invalid: {problem}");
        }

        var strategy = StrategyRegistry.Create(spec);
        var names = spec.Peers.Select(p => p.Name).ToList();
        var settings = ExchangeSettingsFactory.From(spec, data, assignment.Run);
        var directory = new CohortDirectory();
        var hub = new ExchangeHub(settings, directory, logger);
        var learnersOf = GrpcLogitExchange.LearnersOf(strategy, names);
        HostedRun? self = null;
        var exchange = new GrpcLogitExchange(hub, localAddress, learnersOf, peer => self!._peers.TryGetValue(peer, out var p) ? p.Generation : 0, peer => !registry.TicketsOff && self!._peers.TryGetValue(peer, out var p) ? p.Ticket : string.Empty, channelFor, logger);
        self = new HostedRun(assignment.Run, spec, data, strategy, hub, exchange, registry, logger) { SpecText = assignment.SpecText, Tracing = tracing };
        registry.Add(hub);
        return self;
    }

    /// <summary>Which training steps this worker's peers trace by default (the spec's tracing section over it).</summary>
    public Core.Telemetry.TraceSampling Tracing { get; init; } = Core.Telemetry.TraceSampling.Default;

    /// <summary>Applies the coordinator's view of where the peers are.</summary>
    public void UpdateDirectory(IEnumerable<PeerEndpoint> endpoints) =>
        Directory.Update(endpoints.Select(e => new PeerLocation(e.Peer, NormalizeAddress(e.Address), e.Generation, e.State switch
        {
            PeerState.Active or PeerState.Stalled when NormalizeAddress(e.Address).Length > 0 => PeerPresence.Active,
            PeerState.Completed or PeerState.Failed or PeerState.Interrupted or PeerState.Paused => PeerPresence.Done,
            _ => PeerPresence.Missing,
        }, e.Step, e.WorkerId, e.WaitingAt)));

    /// <summary>Whether the run's spec has a peer named <paramref name="peer"/>.</summary>
    public bool Has(string peer) => HasPeer(Spec, peer);

    private static bool HasPeer(CohortSpec spec, string peer) => spec.Peers.Any(p => p.Name == peer);

    /// <summary>The hosted peer of that name (running or ended, until removed), if any.</summary>
    public HostedPeer? Find(string peer) => _peers.GetValueOrDefault(peer);

    /// <summary>Starts the peer of <paramref name="assignment"/>; the caller made sure no incarnation of it still runs here.</summary>
    public HostedPeer Start(PeerAssignment assignment, int slot)
    {
        var peer = new HostedPeer(this, assignment, slot, _logger);
        _peers[assignment.Peer] = peer;
        peer.Start();
        return peer;
    }

    /// <summary>Forgets an ended peer (its end was reported); true when no peer is left.</summary>
    public bool Remove(HostedPeer peer)
    {
        if (peer.HasEnded)
        {
            ((ICollection<KeyValuePair<string, HostedPeer>>)_peers).Remove(new KeyValuePair<string, HostedPeer>(peer.Name, peer));
        }

        return _peers.IsEmpty;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _peers.Values)
        {
            p.Stop("worker shutting down");
        }

        foreach (var p in _peers.Values)
        {
            p.Join(TimeSpan.FromSeconds(30));
        }

        _registry.Remove(Hub);
        await Exchange.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A worker address as <c>http://host:port/</c>; empty stays empty (a peer not placed anywhere).</summary>
    public static string NormalizeAddress(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return string.Empty;
        }

        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri.ToString() : string.Empty;
    }
}
