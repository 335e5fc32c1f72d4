using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using PeerDistill.Torch;

namespace PeerDistill.Core.Telemetry;

/// <summary>
/// The step loop's ActivitySource and Meter (<see cref="TelemetryNames.Runner"/>) and its instruments.
/// With no listener (telemetry not configured) a span is never made and a measurement never taken
/// (each caller checks <see cref="Instrument.Enabled"/> before building tags).
/// </summary>
public static class RunnerTelemetry
{
    /// <summary>Seconds bucket boundaries for step-scale times (1 ms to 30 s).</summary>
    public static readonly IReadOnlyList<double> SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public static readonly ActivitySource Source = new(TelemetryNames.Runner, TelemetryNames.Version);

    public static readonly Meter Meter = new(TelemetryNames.Runner, TelemetryNames.Version);

    /// <summary>Wall time of one training step of one peer, from building its batch to the optimizer's update.</summary>
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram(
        "peerdistill.step.duration", "s", "Time of one training step of a peer (batch, forward, exchange, backward, optimizer)", advice: Seconds());

    /// <summary>Time a learner waited for its teachers' logits at one step.</summary>
    public static readonly Histogram<double> ExchangeWait = Meter.CreateHistogram(
        "peerdistill.exchange.wait", "s", "Time a peer waited for its teachers' logits at one step", advice: Seconds());

    public static readonly Gauge<double> Loss = Meter.CreateGauge<double>("peerdistill.peer.loss", null, "Total loss of a peer's latest step (nats per sample)");

    public static readonly Gauge<double> CrossEntropy = Meter.CreateGauge<double>("peerdistill.peer.loss.ce", null, "Cross-entropy on the labels of a peer's latest step");

    public static readonly Gauge<double> Distillation = Meter.CreateGauge<double>("peerdistill.peer.loss.kd", null, "Distillation term (temperature-scaled KL to the teachers) of a peer's latest step");

    public static readonly Gauge<double> Hint = Meter.CreateGauge<double>("peerdistill.peer.loss.hint", null, "Hint term (unweighted MSE) of a peer's latest step, for peers with one");

    public static readonly Gauge<double> Accuracy = Meter.CreateGauge<double>("peerdistill.peer.accuracy", null, "A peer's latest evaluation accuracy (0 to 1), by split");

    public static readonly Gauge<double> Throughput = Meter.CreateGauge<double>("peerdistill.peer.throughput", "{sample}/s", "Samples per second of a peer since it (re)started");

    public static readonly Counter<long> Samples = Meter.CreateCounter<long>("peerdistill.peer.samples", "{sample}", "Training samples a peer has stepped on");

    public static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram(
        "peerdistill.checkpoint.duration", "s", "Time to write one checkpoint of a peer", advice: Seconds());

    /// <summary>Bytes bucket boundaries for checkpoints (64 KiB to 16 GiB, by fours).</summary>
    public static readonly IReadOnlyList<long> CheckpointBuckets = [1L << 16, 1L << 18, 1L << 20, 1L << 22, 1L << 24, 1L << 26, 1L << 28, 1L << 30, 1L << 32, 1L << 34];

    public static readonly Histogram<long> CheckpointSize = Meter.CreateHistogram(
        "peerdistill.checkpoint.size", "By", "Size of one checkpoint of a peer", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = CheckpointBuckets });

    private static readonly ConcurrentDictionary<(string Cohort, string Run, string Peer), string> DevicePeers = new();

    /// <summary>Allocated device memory of every peer training on a GPU in this process (the engine's CUDA statistics of its device).</summary>
    public static readonly ObservableGauge<long> DeviceMemory = Meter.CreateObservableGauge(
        "peerdistill.device.memory", ObserveDeviceMemory, "By", "Memory allocated on the GPU a peer trains on (the engine's statistics of that device)");

    /// <summary>A peer on <paramref name="device"/> starts training in this process: its GPU memory is observed until <see cref="PeerStopped"/>.</summary>
    public static void PeerStarted(string cohort, string run, string peer, string device)
    {
        if (device.StartsWith("cuda", StringComparison.Ordinal))
        {
            DevicePeers[(cohort, run, peer)] = device;
        }
    }

    /// <summary>The peer of <see cref="PeerStarted"/> stopped.</summary>
    public static void PeerStopped(string cohort, string run, string peer) => DevicePeers.TryRemove((cohort, run, peer), out _);

    /// <summary>The low-cardinality tags of one peer's measurements.</summary>
    public static TagList PeerTags(string cohort, string run, string peer) => new()
    {
        { TelemetryAttributes.Cohort, cohort },
        { TelemetryAttributes.Run, run },
        { TelemetryAttributes.Peer, peer },
    };

    private static IEnumerable<Measurement<long>> ObserveDeviceMemory()
    {
        foreach (var ((cohort, run, peer), device) in DevicePeers)
        {
            long allocated;
            try
            {
                allocated = TorchRuntime.CudaMemory(device).AllocatedBytes;
            }
            catch (TorchException)
            {
                continue;
            }

            yield return new Measurement<long>(allocated, PeerTags(cohort, run, peer));
        }
    }

    private static InstrumentAdvice<double> Seconds() => new() { HistogramBucketBoundaries = SecondsBuckets };
}
