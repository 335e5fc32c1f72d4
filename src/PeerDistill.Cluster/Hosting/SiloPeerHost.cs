using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Grains;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Placement;
using PeerDistill.Core.Storage;
using PeerDistill.Torch;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// The peers one silo process trains (for its peer grains): each run's spec and data loaded once,
/// its exchange hub (served by this process's PeerExchange) and links, and each peer on a thread
/// of its own through the same step loop as the embedded runner. An assignment is checked before
/// anything runs: a run id, a generation, directories under the cluster's roots, a valid spec
/// that names the cohort and peer and is the spec of the run's other peers here.
/// </summary>
public sealed partial class SiloPeerHost : IAsyncDisposable
{
    private readonly ClusterRoots _roots;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cohort, string Run), HostedRun> _runs = new();
    private readonly object _gate = new();
    private volatile string? _drainReason;

    private readonly Security.ClusterCredentials? _credentials;

    // Which training steps the peers hosted here trace by default (a spec's tracing section overrides it).
    private readonly Core.Telemetry.TraceSampling _tracing;

    /// <summary>A host whose exchange links use TLS with this process's <paramref name="credentials"/> (mutual: they present its certificate) when it has them.</summary>
    public SiloPeerHost(ExchangeEndpoint endpoint, ExchangeRegistry registry, ClusterRoots roots, ILogger<SiloPeerHost> logger, Security.ClusterCredentials? credentials = null, Core.Telemetry.TraceSampling? tracing = null)
    {
        _tracing = tracing ?? Core.Telemetry.TraceSampling.Default;
        _credentials = credentials;
        ArgumentNullException.ThrowIfNull(endpoint);
        ExchangeAddress = endpoint.Address;
        Registry = registry;
        _roots = roots;
        _logger = logger;
    }

    /// <summary>The address of this silo's PeerExchange service, <c>http://host:port/</c> or with TLS <c>https://host:port/</c> (what the other peers send logits to).</summary>
    public string ExchangeAddress { get; }

    /// <summary>The hubs of the runs hosted here (what this process's PeerExchange serves).</summary>
    public ExchangeRegistry Registry { get; }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();

    /// <summary>Starts a peer in <paramref name="slot"/>; <see cref="PeerStartException"/> says why it cannot (its spec, its directories, the slot).</summary>
    public void Start(PeerAssignment assignment, SlotDescriptor slot)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentNullException.ThrowIfNull(slot);
        var (cohort, peerName) = (assignment.Cohort, assignment.Peer);
        if (!RunIdPattern().IsMatch(assignment.Run))
        {
            throw Refused(cohort, peerName, $"run id '{Quote(assignment.Run)}' is not one (1 to 128 letters, digits, '.', '-' or '_', starting with a letter or digit)");
        }

        if (_drainReason is { } draining)
        {
            // Not the peer's fault: its cohort places it on another worker.
            throw new SlotUnavailableException($"peer '{Quote(peerName)}' was not started: this worker stops ({draining})");
        }

        if (assignment.ResumeFromStep is < 0)
        {
            throw Refused(cohort, peerName, $"resume step {assignment.ResumeFromStep} is not a step");
        }

        if ((Outside(assignment.OutputDirectory, _roots.OutputRoot, "output directory") ?? Outside(assignment.CheckpointDirectory, _roots.CheckpointRoot, "checkpoint directory")) is { } place)
        {
            throw Refused(cohort, peerName, place);
        }

        try
        {
            lock (_gate)
            {
                _runs.TryGetValue((cohort, assignment.Run), out var run);
                if (run?.Find(peerName) is { HasEnded: false } existing)
                {
                    throw Refused(cohort, peerName, $"generation {existing.Generation} of it still runs here");
                }

                if (_runs.Values.SelectMany(r => r.Peers).FirstOrDefault(p => !p.HasEnded && p.Slot == slot.Index) is { } occupant)
                {
                    throw Refused(cohort, peerName, $"slot {slot.Index} is busy with peer '{occupant.Name}' (generation {occupant.Generation})");
                }

                if (run is null)
                {
                    run = HostedRun.Create(assignment, ExchangeAddress, ChannelFor, Registry, _logger, _tracing);
                    _runs[(cohort, assignment.Run)] = run;
                }
                else if (run.SpecText != assignment.SpecText)
                {
                    throw Refused(cohort, peerName, $"its spec differs from the spec of run '{assignment.Run}' this silo hosts peers of");
                }
                else if (!run.Has(peerName))
                {
                    throw Refused(cohort, peerName, $"cohort '{cohort}' has no peer '{Quote(peerName)}'");
                }

                run.UpdateDirectory(assignment.Peers);
                Log.Starting(_logger, peerName, cohort, assignment.Run, assignment.Generation, slot.Index, assignment.ResumeFromStep is { } s ? $", resuming from step {s}" : string.Empty);
                run.Start(assignment, slot.Index);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or TorchException or UnauthorizedAccessException)
        {
            throw Refused(cohort, peerName, e.Message);
        }
    }

    /// <summary>Stops that generation of the peer and waits (at most <paramref name="timeout"/>) until it has.</summary>
    public async Task<PeerStopped> StopAsync(string cohort, string run, string peer, ulong generation, bool checkpoint, string reason, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_runs.TryGetValue((cohort, run), out var hosted) || hosted.Find(peer) is not { } target || (generation != 0 && target.Generation != generation))
        {
            return new PeerStopped(false, -1, null);
        }

        var running = !target.HasEnded;
        target.Stop(string.IsNullOrWhiteSpace(reason) ? "stopped" : Quote(reason), checkpoint);
        try
        {
            var end = await target.Ended.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return new PeerStopped(running, end.StepsCompleted - 1, running ? end.CheckpointStep : null);
        }
        catch (TimeoutException)
        {
            // It goes on stopping; its end reaches the cohort with a later report.
            return new PeerStopped(running, -1, null);
        }
    }

    /// <summary>
    /// Asks that generation of the peer to hold before <paramref name="step"/> until its cohort
    /// decides (<see cref="CommitChange"/>, <see cref="CommitPause"/> or <see cref="ReleaseHold"/>).
    /// </summary>
    public HoldReply Hold(string cohort, string run, string peer, ulong generation, long step)
    {
        if (Running(cohort, run, peer, generation) is not { } target)
        {
            return new HoldReply(false, -1, $"generation {generation} of '{Quote(peer)}' does not run on this worker");
        }

        var answer = target.Hold(step);
        return new HoldReply(answer.Accepted, answer.StartedStep, string.Empty);
    }

    /// <summary>The cohort agreed on <paramref name="change"/> (at its step); false when that generation does not run here.</summary>
    public bool CommitChange(string cohort, string run, string peer, ulong generation, Core.Spec.CohortChange change)
    {
        if (Running(cohort, run, peer, generation) is not { } target)
        {
            return false;
        }

        target.Commit(change);
        return true;
    }

    /// <summary>The cohort agreed to pause at <paramref name="step"/>; false when that generation does not run here.</summary>
    public bool CommitPause(string cohort, string run, string peer, ulong generation, long step)
    {
        if (Running(cohort, run, peer, generation) is not { } target)
        {
            return false;
        }

        target.PauseAt(step);
        return true;
    }

    /// <summary>A fresh exchange ticket for that generation of the peer (if it runs here): its streams opened from now on carry it.</summary>
    public void Renew(string cohort, string run, string peer, ulong generation, string ticket)
    {
        if (Running(cohort, run, peer, generation) is { } target)
        {
            target.Ticket = ticket;
        }
    }

    /// <summary>The cohort decided nothing: the hold of that generation (if it runs here) ends.</summary>
    public void ReleaseHold(string cohort, string run, string peer, ulong generation) => Running(cohort, run, peer, generation)?.Release();

    private HostedPeer? Running(string cohort, string run, string peer, ulong generation) =>
        _runs.TryGetValue((cohort, run), out var hosted) && hosted.Find(peer) is { HasEnded: false } target && target.Generation == generation ? target : null;

    /// <summary>Whether this worker stops (no new peer starts here).</summary>
    public bool IsDraining => _drainReason is not null;

    /// <summary>
    /// The worker stops: no new peer starts here, and every hosted peer is told to stop at its next
    /// step boundary (at once while it waits for teachers) with a checkpoint. Returns at once (it
    /// runs on the signal's thread); each peer's name and the steps it had completed when told.
    /// </summary>
    public IReadOnlyList<(string Peer, long Step)> Drain(string reason)
    {
        lock (_gate)
        {
            _drainReason ??= reason;
        }

        var running = _runs.Values.SelectMany(r => r.Peers).Where(p => !p.HasEnded).ToList();
        foreach (var peer in running)
        {
            peer.Stop(reason);
        }

        // Read after the request: a peer completes at most the step it is in now.
        return running.Select(p => (p.Name, p.Progress.Snapshot(string.Empty).Step)).ToList();
    }

    /// <summary>The slot of every peer training here now, with its grain key (what a new slot board must know of this worker).</summary>
    public IReadOnlyList<SlotHolder> Holders() =>
        [.. _runs.Values.SelectMany(r => r.Peers.Where(p => !p.HasEnded).Select(p => new SlotHolder(p.Slot, GrainKeys.Peer(r.Spec.Cohort, r.Run, p.Name), Started: true)))];

    /// <summary>Waits (at most <paramref name="timeout"/>) until every hosted peer's thread has ended; false on timeout.</summary>
    public async Task<bool> WaitForPeersAsync(TimeSpan timeout)
    {
        var running = _runs.Values.SelectMany(r => r.Peers).Where(p => !p.HasEnded).Select(p => p.Ended).ToList();
        try
        {
            await Task.WhenAll(running).WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            Log.StopSlow(_logger, timeout.TotalSeconds);
            return false;
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until no peer is hosted here any more: each ended
    /// peer's grain reported its end to its cohort and forgot it. False on timeout.
    /// </summary>
    public async Task<bool> WaitUntilReportedAsync(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!_runs.IsEmpty)
        {
            if (clock.Elapsed >= timeout)
            {
                return false;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Stops every hosted peer with a checkpoint and waits (at most a minute) until they have.</summary>
    public async Task StopAllAsync(string reason)
    {
        foreach (var peer in _runs.Values.SelectMany(r => r.Peers).Where(p => !p.HasEnded).ToList())
        {
            peer.Stop(reason);
        }

        await WaitForPeersAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
    }

    /// <summary>What the hosted generation of the peer did so far; null if this process does not host it.</summary>
    public PeerReport? Report(string cohort, string run, string peer, string silo) =>
        _runs.TryGetValue((cohort, run), out var hosted) && hosted.Find(peer) is { } target ? target.Progress.Snapshot(silo) : null;

    /// <summary>Applies the cohort's view of where the run's peers are.</summary>
    public void UpdatePeers(string cohort, string run, IReadOnlyList<PeerEndpoint> peers)
    {
        if (_runs.TryGetValue((cohort, run), out var hosted))
        {
            hosted.UpdateDirectory(peers);
        }
    }

    /// <summary>Forgets an ended generation of the peer (its end was reported); the run is closed when none of its peers is left.</summary>
    public async ValueTask ForgetAsync(string cohort, string run, string peer, ulong generation)
    {
        HostedRun? closed = null;
        lock (_gate)
        {
            if (_runs.TryGetValue((cohort, run), out var hosted) && hosted.Find(peer) is { HasEnded: true } target && target.Generation == generation
                && hosted.Remove(target) && _runs.TryRemove(new KeyValuePair<(string, string), HostedRun>((cohort, run), hosted)))
            {
                closed = hosted;
            }
        }

        if (closed is not null)
        {
            await closed.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var run in _runs.Values)
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }

        _runs.Clear();
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private PeerStartException Refused(string cohort, string peer, string reason)
    {
        Log.StartRefused(_logger, Quote(peer), Quote(cohort), reason);
        return new PeerStartException(reason);
    }

    /// <summary>Why <paramref name="directory"/> may not be written (empty, or outside <paramref name="root"/>); null when it may.</summary>
    private static string? Outside(string directory, string root, string field)
    {
        if (string.IsNullOrWhiteSpace(directory))
        {
            return $"{field} is empty";
        }

        try
        {
            return ConfinedPath.IsUnder(directory, root)
                ? null
                : $"{field} '{Quote(directory)}' is outside the cluster's root '{root}'; this silo writes nowhere else";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"{field} '{Quote(directory)}' cannot be resolved: {e.Message}";
        }
    }

    /// <summary>A client-supplied name, cut and escaped for one log line.</summary>
    private static string Quote(string value)
    {
        var text = value.Length > 80 ? value[..80] + "..." : value;
        return text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    private GrpcChannel ChannelFor(string address) => _channels.GetOrAdd(address, a => GrpcChannels.ForAddress(a, _credentials?.ClientOptions()));
}
