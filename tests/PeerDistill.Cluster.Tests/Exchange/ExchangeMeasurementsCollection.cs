using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>
/// The test classes whose links send on cohort co, run run1, and those that count such frames through <see cref="PeerDistill.Cluster.Exchange.ExchangeMeasurements"/>
/// on the same cohort and run names: the instruments are the process's, so these classes run one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ExchangeMeasurementsCollection
{
    public const string Name = "exchange measurements";
}
