using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;

namespace PeerDistill.Cluster.Exchange;

/// <summary>The exchange settings of a cohort run, from its spec and data plan.</summary>
public static class ExchangeSettingsFactory
{
    public static ExchangeSettings From(CohortSpec spec, CohortData data, string run)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        var steps = data.TotalSteps;
        // A receiver re-activated from a checkpoint must still accept its teachers' newest frame,
        // which may be up to a checkpoint interval ahead of it.
        var window = (int)Math.Clamp(Math.Max(64, spec.Checkpoints.EverySteps * 2), 64, 100_000);
        if (data.Federation is { } federation)
        {
            // A federated peer skips the indices of a round it has nothing to do at: its teachers'
            // first frame of the next round may be a round ahead of it.
            window = (int)Math.Clamp(Math.Max(window, (federation.RoundLength * 2) + federation.PublicBatches), 64, 100_000);
        }

        var policy = Core.Exchange.ExchangePolicy.From(spec.Exchange);
        var format = Core.Exchange.LogitWireFormat.From(spec.Exchange);
        if (WireCodec.TooLarge(spec.Data.BatchSize, data.Classes, format, GrpcServiceHostOptions.DefaultMaxReceiveMessageSize) is { } problem)
        {
            throw new ArgumentException($"cohort '{spec.Cohort}': {problem}", nameof(spec));
        }

        return new ExchangeSettings(
            spec.Cohort,
            run,
            data.Classes,
            data.FrameBatchSizeAt,
            steps,
            WireCodec.Parse(spec.Exchange.WireDType),
            policy.StepTimeout,
            policy.Quorum,
            window,
            policy.MaxStaleness,
            spec.Exchange.MaxAbsLogit,
            format.K,
            format.Rest,
            data.Federation is { } f ? f.NextPublicStepAfter : null);
    }
}
