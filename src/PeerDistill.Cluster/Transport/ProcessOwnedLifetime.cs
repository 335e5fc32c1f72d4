using Microsoft.Extensions.Hosting;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// The lifetime of a process (<see cref="GrpcHosting"/>): no signal handling. The host's default console
/// lifetime begins the host's own shutdown on Ctrl-C or SIGTERM, in its own order (the server
/// waiting for long-lived streams, then Orleans deactivating grains); the processes that own a host
/// handle the signals themselves, stop their work first (a worker's peers at their next step
/// boundary, with a checkpoint) and then stop the host.
/// </summary>
internal sealed class ProcessOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
