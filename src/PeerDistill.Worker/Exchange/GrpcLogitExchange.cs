using Google.Protobuf;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Exchange;
using PeerDistill.Rpc;
using PeerDistill.Rpc.V1;
using PeerDistill.Torch;

namespace PeerDistill.Worker.Exchange;

/// <summary>
/// The logit exchange of the peers a worker hosts, over gRPC: <see cref="Publish"/> sends a
/// peer's logits of a step to every peer that learns from it (one long-lived stream per pair),
/// <see cref="Gather"/> takes the teachers' logits of a step from this worker's
/// <see cref="ExchangeHub"/>. The step loop is the embedded runner's; only this class differs.
/// </summary>
public sealed class GrpcLogitExchange : ILogitExchange, IAsyncDisposable
{
    private readonly ExchangeHub _hub;
    private readonly string _localAddress;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _learnersOf;
    private readonly Func<string, ulong> _generationOf;
    private readonly Func<string, GrpcChannel> _channelFor;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<(string Sender, string Receiver), PeerLink> _links = new();

    /// <param name="hub">This worker's hub for the cohort run (its inboxes).</param>
    /// <param name="localAddress">This worker's own address, as the directory names it (receivers here get frames without the network).</param>
    /// <param name="learnersOf">For each local peer, the peers that learn from it.</param>
    /// <param name="generationOf">The activation generation of a local peer.</param>
    /// <param name="channelFor">The channel to a worker address (shared, owned by the caller).</param>
    public GrpcLogitExchange(ExchangeHub hub, string localAddress, IReadOnlyDictionary<string, IReadOnlyList<string>> learnersOf, Func<string, ulong> generationOf, Func<string, GrpcChannel> channelFor, ILogger logger)
    {
        _hub = hub;
        _localAddress = localAddress;
        _learnersOf = learnersOf;
        _generationOf = generationOf;
        _channelFor = channelFor;
        _logger = logger;
    }

    /// <summary>What this worker's links sent.</summary>
    public ExchangeStatistics Statistics { get; } = new();

    /// <summary>Opens <paramref name="peer"/>'s links to its learners now, so that the first step's logits do not pay for connecting.</summary>
    public void Prepare(string peer)
    {
        foreach (var receiver in _learnersOf.GetValueOrDefault(peer) ?? [])
        {
            LinkOf(peer, receiver);
        }
    }

    public void Publish(string peer, long step, Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var s = _hub.Settings;
        ByteString values;
        long[] shape;
        using (logits)
        {
            shape = logits.Shape;
            values = WireCodec.Encode(logits.ToFloatArray(), s.WireDType);
        }

        var template = new LogitsFrame
        {
            Cohort = s.Cohort,
            Run = s.Run,
            Sender = peer,
            Generation = _generationOf(peer),
            Step = step,
            Dtype = s.WireDType,
            Values = values,
            SentUnixNanos = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
        };
        template.Shape.AddRange(shape);
        foreach (var receiver in _learnersOf.GetValueOrDefault(peer) ?? [])
        {
            var frame = template.Clone();
            frame.Receiver = receiver;
            LinkOf(peer, receiver).Enqueue(frame);
        }
    }

    public void Withdraw(string peer, long step, string reason)
    {
        List<PeerLink> links;
        lock (_gate)
        {
            links = _links.Where(l => l.Key.Sender == peer).Select(l => l.Value).ToList();
            foreach (var key in _links.Keys.Where(k => k.Sender == peer).ToList())
            {
                _links.Remove(key);
            }
        }

        _hub.Release(peer);
        // Let the last frames go out in the background: the peer's thread must not wait on the network.
        _ = Task.Run(async () =>
        {
            foreach (var link in links)
            {
                await link.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
    {
        var arrived = _hub.Gather(peer, step, from, cancellation);
        var classes = _hub.Settings.Classes;
        var result = new List<TeacherLogits>(arrived.Count);
        foreach (var (teacher, at, values) in arrived)
        {
            result.Add(new TeacherLogits(teacher, at, Tensor.FromSpan(values, [values.Length / classes, classes])));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        List<PeerLink> links;
        lock (_gate)
        {
            links = _links.Values.ToList();
            _links.Clear();
        }

        foreach (var link in links)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    private PeerLink LinkOf(string sender, string receiver)
    {
        lock (_gate)
        {
            if (!_links.TryGetValue((sender, receiver), out var link))
            {
                link = new PeerLink(sender, receiver, _localAddress, _hub, _hub.Directory, _channelFor, Statistics, _logger);
                _links[(sender, receiver)] = link;
            }

            return link;
        }
    }
}
