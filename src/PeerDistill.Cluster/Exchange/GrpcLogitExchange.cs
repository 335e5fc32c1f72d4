using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Strategies;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;

namespace PeerDistill.Cluster.Exchange;

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
    private readonly Func<string, string> _ticketOf;
    private readonly Func<string, GrpcChannel> _channelFor;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<(string Sender, string Receiver), PeerLink> _links = new();

    /// <param name="hub">This worker's hub for the cohort run (its inboxes).</param>
    /// <param name="localAddress">This worker's own address, as the directory names it (receivers here get frames without the network).</param>
    /// <param name="learnersOf">For each local peer, the peers that learn from it.</param>
    /// <param name="generationOf">The activation generation of a local peer.</param>
    /// <param name="ticketOf">
    /// The current exchange ticket of a local peer (what its streams carry; see <see cref="PeerExchangeService"/>):
    /// the same text until its cohort renews it; a link whose ticket changed moves to a new stream with it.
    /// </param>
    /// <param name="channelFor">The channel to a worker address (shared, owned by the caller).</param>
    public GrpcLogitExchange(ExchangeHub hub, string localAddress, IReadOnlyDictionary<string, IReadOnlyList<string>> learnersOf, Func<string, ulong> generationOf, Func<string, string> ticketOf, Func<string, GrpcChannel> channelFor, ILogger logger)
    {
        _hub = hub;
        _localAddress = localAddress;
        _learnersOf = learnersOf;
        _generationOf = generationOf;
        _ticketOf = ticketOf;
        _channelFor = channelFor;
        _logger = logger;
    }

    /// <summary>For each peer of <paramref name="peers"/>, the peers that learn from it (whose teachers include it).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> LearnersOf(IDistillationStrategy strategy, IReadOnlyList<string> peers) =>
        peers.ToDictionary(n => n, n => (IReadOnlyList<string>)peers.Where(m => m != n && strategy.Configure(m, 0).Contains(n)).ToList());

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
        float[] raw;
        long[] shape;
        using (logits)
        {
            shape = logits.Shape;
            raw = logits.ToFloatArray();
        }

        // fp32 frames are encoded only by the links that put them on the network: a receiver in this
        // process takes the floats as they are (the fp32 codec changes nothing). fp16 and top-k frames
        // are encoded for every receiver alike, so that numbers do not depend on where a peer runs
        // (the embedded exchange applies the same transform: LogitWireFormat.Apply).
        var local = s.WireDType == WireDType.Fp32;
        var values = ByteString.Empty;
        var indices = ByteString.Empty;
        if (s.WireDType == WireDType.Topk)
        {
            (values, indices) = WireCodec.EncodeTopK(raw, s.Classes, s.TopK);
        }
        else if (!local)
        {
            values = WireCodec.Encode(raw, s.WireDType);
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
            // The step loop makes its publish span current while it publishes a traced step.
            TraceParent = TraceContext.Of(System.Diagnostics.Activity.Current),
        };
        if (s.WireDType == WireDType.Topk)
        {
            template.Topk = (uint)s.TopK;
            template.TopkRest = WireCodec.ToWire(s.TopKRest);
            template.Indices = indices;
        }

        template.Shape.AddRange(shape);
        foreach (var receiver in _learnersOf.GetValueOrDefault(peer) ?? [])
        {
            var frame = template.Clone();
            frame.Receiver = receiver;
            frame.LocalValues = local ? raw : null;
            LinkOf(peer, receiver).Enqueue(frame);
        }
    }

    public void Withdraw(string peer, long step, string reason)
    {
        var links = TakeLinks(sender => sender == peer);
        _hub.Release(peer);
        // Let the last frames go out in the background: the peer's thread must not wait on the network.
        _ = Task.Run(() => CloseAsync(links));
    }

    public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
    {
        var arrived = _hub.Gather(peer, step, from, cancellation);
        var classes = _hub.Settings.Classes;
        var result = new List<TeacherLogits>(arrived.Count);
        foreach (var (teacher, at, values, origin) in arrived)
        {
            result.Add(new TeacherLogits(teacher, at, Tensor.FromSpan(values, [values.Length / classes, classes])) { Origin = origin });
        }

        return result;
    }

    public async ValueTask DisposeAsync() => await CloseAsync(TakeLinks(_ => true)).ConfigureAwait(false);

    private static async Task CloseAsync(List<PeerLink> links)
    {
        foreach (var link in links)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Removes and returns the links of the senders <paramref name="of"/> selects.</summary>
    private List<PeerLink> TakeLinks(Func<string, bool> of)
    {
        lock (_gate)
        {
            var taken = _links.Where(l => of(l.Key.Sender)).ToList();
            foreach (var (key, _) in taken)
            {
                _links.Remove(key);
            }

            return taken.Select(l => l.Value).ToList();
        }
    }

    private PeerLink LinkOf(string sender, string receiver)
    {
        lock (_gate)
        {
            if (!_links.TryGetValue((sender, receiver), out var link))
            {
                link = new PeerLink(sender, receiver, _localAddress, _hub, _hub.Directory, _channelFor, () => _ticketOf(sender), _logger, TimeProvider.System);
                _links[(sender, receiver)] = link;
            }

            return link;
        }
    }
}
