using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>
/// The test classes that count a link's frames through <see cref="PeerDistill.Cluster.Exchange.ExchangeMeasurements"/>
/// on the same cohort and run names: the instruments are the process's, so these classes run one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ExchangeMeasurementsCollection
{
    public const string Name = "exchange measurements";
}
