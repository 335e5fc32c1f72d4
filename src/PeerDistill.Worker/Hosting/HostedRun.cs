using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Rpc;
using PeerDistill.Rpc.V1;
using PeerDistill.Worker.Exchange;

namespace PeerDistill.Worker.Hosting;

/// <summary>
/// One cohort run as seen by one worker: its spec and data (loaded once), the directory of where
/// its peers are, the exchange hub and links, and the peers of it this worker trains, each on its
/// own thread through the same step loop as the embedded runner.
/// </summary>
internal sealed class HostedRun : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, HostedPeer> _peers = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    private HostedRun(string run, CohortSpec spec, CohortData data, IDistillationStrategy strategy, ExchangeHub hub, GrpcLogitExchange exchange, ILogger logger)
    {
        Run = run;
        Spec = spec;
        Data = data;
        Strategy = strategy;
        Hub = hub;
        Exchange = exchange;
        _logger = logger;
    }

    public string Run { get; }

    public CohortSpec Spec { get; }

    public CohortData Data { get; }

    public IDistillationStrategy Strategy { get; }

    public ExchangeHub Hub { get; }

    public GrpcLogitExchange Exchange { get; }

    public CohortDirectory Directory => Hub.Directory;

    public IEnumerable<HostedPeer> Peers => _peers.Values;

    public static HostedRun Create(Assignment assignment, string localAddress, Func<string, GrpcChannel> channelFor, ExchangeRegistry registry, ILogger logger)
    {
        var loaded = assignment.SpecFormat == "json"
            ? SpecLoader.Parse(assignment.SpecText, $"{assignment.Cohort}.json")
            : SpecLoader.Parse(assignment.SpecText, $"{assignment.Cohort}.yaml");
        if (loaded.Spec is not { } spec)
        {
            throw new InvalidOperationException($"the spec of cohort '{assignment.Cohort}' is invalid: {loaded}");
        }

        var data = CohortData.Load(spec.Data);
        var strategy = StrategyRegistry.Create(spec);
        var names = spec.Peers.Select(p => p.Name).ToList();
        var settings = ExchangeSettingsFactory.From(spec, data, assignment.Run);
        var directory = new CohortDirectory();
        var hub = new ExchangeHub(settings, directory, logger);
        var learnersOf = GrpcLogitExchange.LearnersOf(strategy, names);
        HostedRun? self = null;
        var exchange = new GrpcLogitExchange(hub, localAddress, learnersOf, peer => self!._peers.TryGetValue(peer, out var p) ? p.Generation : 0, channelFor, logger);
        self = new HostedRun(assignment.Run, spec, data, strategy, hub, exchange, logger);
        registry.Add(hub);
        return self;
    }

    /// <summary>Applies the coordinator's view of where the peers are.</summary>
    public void UpdateDirectory(IEnumerable<PeerEndpoint> endpoints) =>
        Directory.Update(endpoints.Select(e => new PeerLocation(e.Peer, NormalizeAddress(e.Address), e.Generation, e.State switch
        {
            PeerState.Active when NormalizeAddress(e.Address).Length > 0 => PeerPresence.Active,
            PeerState.Completed or PeerState.Failed or PeerState.Interrupted => PeerPresence.Done,
            _ => PeerPresence.Missing,
        }, e.Step)));

    /// <summary>Starts (or restarts with a newer generation) the peer of <paramref name="assignment"/>; false if it already runs that generation.</summary>
    public bool Start(Assignment assignment)
    {
        if (_peers.TryGetValue(assignment.Peer, out var existing))
        {
            if (existing.Generation >= assignment.Generation)
            {
                return false;
            }

            existing.Stop("superseded by generation " + assignment.Generation);
        }

        var peer = new HostedPeer(this, assignment, _logger);
        _peers[assignment.Peer] = peer;
        peer.Start();
        return true;
    }

    /// <summary>Stops the peer if it runs <paramref name="generation"/> (0: any).</summary>
    public bool Stop(string peer, ulong generation, string reason)
    {
        if (_peers.TryGetValue(peer, out var hosted) && (generation == 0 || hosted.Generation == generation))
        {
            hosted.Stop(reason);
            return true;
        }

        return false;
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
