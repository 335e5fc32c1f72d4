using PeerDistill.Rpc;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.V1;

namespace PeerDistill.Coordinator;

/// <summary>The coordinator's gRPC services (WorkerRegistry, CohortService) over one <see cref="CoordinatorState"/>.</summary>
public static class CoordinatorServices
{
    /// <summary>Both services, ready for <c>GrpcServerHost.StartAsync</c> or <c>MapGrpcService</c>.</summary>
    public static ServerServiceDefinition[] Create(CoordinatorState state) => [WorkerRegistry(state), CohortService(state)];

    /// <summary><c>peerdistill.v1.WorkerRegistry</c>: Register, Heartbeat.</summary>
    public static ServerServiceDefinition WorkerRegistry(CoordinatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ServerServiceDefinition.CreateBuilder()
            .AddMethod(WorkerRegistryMethods.Register, new UnaryServerMethod<RegisterWorkerRequest, RegisterWorkerReply>((request, _) => Task.FromResult(state.Register(request))))
            .AddMethod(WorkerRegistryMethods.Heartbeat, new UnaryServerMethod<HeartbeatRequest, HeartbeatReply>((request, _) => Task.FromResult(state.Heartbeat(request))))
            .Build();
    }

    /// <summary><c>peerdistill.v1.CohortService</c>: Submit, GetCohort, ListCohorts, WatchCohort, CancelCohort.</summary>
    public static ServerServiceDefinition CohortService(CoordinatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ServerServiceDefinition.CreateBuilder()
            .AddMethod(CohortServiceMethods.Submit, new UnaryServerMethod<SubmitCohortRequest, SubmitCohortReply>((request, _) => Task.FromResult(state.Submit(request))))
            .AddMethod(CohortServiceMethods.GetCohort, new UnaryServerMethod<GetCohortRequest, CohortStatus>((request, _) => Task.FromResult(state.GetCohort(request))))
            .AddMethod(CohortServiceMethods.ListCohorts, new UnaryServerMethod<ListCohortsRequest, ListCohortsReply>((request, _) => Task.FromResult(state.ListCohorts(request))))
            .AddMethod(CohortServiceMethods.WatchCohort, new ServerStreamingServerMethod<GetCohortRequest, CohortStatus>((request, responses, context) =>
                state.WatchCohortAsync(request, status => responses.WriteAsync(status, context.CancellationToken), context.CancellationToken)))
            .AddMethod(CohortServiceMethods.CancelCohort, new UnaryServerMethod<CancelCohortRequest, CancelCohortReply>((request, _) => Task.FromResult(state.CancelCohort(request))))
            .Build();
    }
}
