using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

[CoordinatorPlacement, KeepAlive]
internal sealed class CoordinatorGrain(SiloSettings settings) : Grain, ICoordinatorGrain
{
    public Task<long> PingAsync() => Task.FromResult(settings.StartedUnixMillis);
}
