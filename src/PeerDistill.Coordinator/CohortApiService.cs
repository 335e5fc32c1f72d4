using Grpc.Core;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator;

/// <summary><c>peerdistill.v1.CohortService</c>: Submit, GetCohort, ListCohorts, WatchCohort, CancelCohort, answered by the <see cref="CoordinatorState"/>.</summary>
public sealed class CohortApiService(CoordinatorState state) : CohortService.CohortServiceBase
{
    public override Task<SubmitCohortReply> Submit(SubmitCohortRequest request, ServerCallContext context) =>
        Task.FromResult(state.Submit(request));

    public override Task<CohortStatus> GetCohort(GetCohortRequest request, ServerCallContext context) =>
        Task.FromResult(state.GetCohort(request));

    public override Task<ListCohortsReply> ListCohorts(ListCohortsRequest request, ServerCallContext context) =>
        Task.FromResult(state.ListCohorts(request));

    public override Task WatchCohort(GetCohortRequest request, IServerStreamWriter<CohortStatus> responseStream, ServerCallContext context) =>
        state.WatchCohortAsync(request, status => responseStream.WriteAsync(status, context.CancellationToken), context.CancellationToken);

    public override Task<CancelCohortReply> CancelCohort(CancelCohortRequest request, ServerCallContext context) =>
        Task.FromResult(state.CancelCohort(request));
}
