using Grpc.Core;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator;

/// <summary><c>peerdistill.v1.WorkerRegistry</c>: Register, Heartbeat, answered by the <see cref="CoordinatorState"/>.</summary>
public sealed class WorkerRegistryService(CoordinatorState state) : WorkerRegistry.WorkerRegistryBase
{
    public override Task<RegisterWorkerReply> Register(RegisterWorkerRequest request, ServerCallContext context) =>
        Task.FromResult(state.Register(request));

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(state.Heartbeat(request));
}
