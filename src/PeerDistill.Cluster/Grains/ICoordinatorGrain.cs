namespace PeerDistill.Cluster.Grains;

/// <summary>The coordinator silo itself, as a grain (key <see cref="Key"/>): workers ask it whether it is still there.</summary>
public interface ICoordinatorGrain : IGrainWithStringKey
{
    public const string Key = "coordinator";

    /// <summary>The coordinator's start time (a new one means a new cluster).</summary>
    Task<long> PingAsync();
}
