namespace PeerDistill.Worker.Hosting;

/// <summary>How a worker runs: which coordinator it serves, its slots, where it listens.</summary>
public sealed class WorkerOptions
{
    /// <summary>The coordinator's gRPC address (<c>http://host:port</c>).</summary>
    public required string Coordinator { get; init; }

    /// <summary>Peer slots: one peer trains in each. Default: one per visible GPU, else one per two CPU cores (at least one).</summary>
    public int? Slots { get; init; }

    /// <summary>The worker id to register with (default: the coordinator assigns one).</summary>
    public string? Id { get; init; }

    /// <summary>Address to bind the worker's gRPC server (PeerExchange, WorkerControl).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port to bind; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>The address other workers reach this one at, if not the bound one (containers, NAT).</summary>
    public string? AdvertiseAddress { get; init; }

    /// <summary>The default slot count on this machine: one per visible GPU, else one per two cores.</summary>
    public static int DefaultSlots(int cudaDevices) => cudaDevices > 0 ? cudaDevices : Math.Max(1, Environment.ProcessorCount / 2);
}
