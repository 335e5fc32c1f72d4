using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using PeerDistill.Core.Telemetry;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The gRPC exchange's ActivitySource and Meter (<see cref="TelemetryNames.Exchange"/>) and its
/// instruments: the one record of what the links sent and what the service received, read by the
/// exporters and, through <see cref="ExchangeMeasurements"/>, by the benches and tests.
/// </summary>
public static class ExchangeTelemetry
{
    public static readonly ActivitySource Source = new(TelemetryNames.Exchange, TelemetryNames.Version);

    public static readonly Meter Meter = new(TelemetryNames.Exchange, TelemetryNames.Version);

    /// <summary>Frames a link sent and had answered, by sender, receiver and the answer's status code (0: accepted).</summary>
    public static readonly Counter<long> FramesSent = Meter.CreateCounter<long>(
        "peerdistill.exchange.frames.sent", "{frame}", "Frames a peer's links sent and had answered, by receiver and answer (rpc.grpc.status_code 0: accepted)");

    /// <summary>Bytes of the serialized frames a link sent (0 for a frame handed to a peer in the same process).</summary>
    public static readonly Counter<long> BytesSent = Meter.CreateCounter<long>(
        "peerdistill.exchange.sent", "By", "Bytes of logits frames a peer's links put on the network");

    /// <summary>From a frame's publishing to its acknowledgement.</summary>
    public static readonly Histogram<double> AckLatency = Meter.CreateHistogram(
        "peerdistill.exchange.ack_latency", "s", "Time from publishing a frame to the receiver's acknowledgement", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    /// <summary>Bytes of the frames this worker's exchange service received.</summary>
    public static readonly Counter<long> BytesReceived = Meter.CreateCounter<long>(
        "peerdistill.exchange.received", "By", "Bytes of logits frames this worker received from other workers");

    /// <summary>Frames this worker's exchange service refused, by status code.</summary>
    public static readonly Counter<long> FramesRefused = Meter.CreateCounter<long>(
        "peerdistill.exchange.frames.refused", "{frame}", "Frames this worker refused, by the status code of the refusal");

    /// <summary>Streams refused before any frame was read (ticket, certificate), by status code.</summary>
    public static readonly Counter<long> StreamsRefused = Meter.CreateCounter<long>(
        "peerdistill.exchange.streams.refused", "{stream}", "Exchange streams and probes this worker refused before reading a frame, by status code");

    /// <summary>Records one frame a link sent and had answered.</summary>
    internal static void Sent(in TagList link, long bytes, TimeSpan latency, StatusCode answer)
    {
        if (FramesSent.Enabled)
        {
            var tags = link;
            tags.Add(TelemetryAttributes.StatusCode, (int)answer);
            FramesSent.Add(1, tags);
        }

        if (bytes > 0 && BytesSent.Enabled)
        {
            BytesSent.Add(bytes, link);
        }

        if (AckLatency.Enabled)
        {
            AckLatency.Record(latency.TotalSeconds, link);
        }
    }

    /// <summary>Records a frame accepted (its serialized size), or refused (its status code).</summary>
    internal static void Received(LogitsFrame frame, StatusCode verdict)
    {
        // Names from a refused frame are the sender's word only: such a frame is counted by its status code alone.
        if (verdict != StatusCode.OK)
        {
            Refused(FramesRefused, verdict);
        }
        else if (BytesReceived.Enabled)
        {
            BytesReceived.Add(frame.CalculateSize(), RunnerTelemetry.PeerTags(frame.Cohort, frame.Run, frame.Receiver));
        }
    }

    /// <summary>Counts one refusal of <paramref name="counter"/> with its status code.</summary>
    internal static void Refused(Counter<long> counter, StatusCode code)
    {
        if (counter.Enabled)
        {
            counter.Add(1, new KeyValuePair<string, object?>(TelemetryAttributes.StatusCode, (int)code));
        }
    }

    /// <summary>The tags of the link from <paramref name="sender"/> to <paramref name="receiver"/>.</summary>
    internal static TagList LinkTags(string cohort, string run, string sender, string receiver)
    {
        var tags = RunnerTelemetry.PeerTags(cohort, run, sender);
        tags.Add(TelemetryAttributes.Receiver, receiver);
        return tags;
    }
}
