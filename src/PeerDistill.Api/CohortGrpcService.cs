using Grpc.Core;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Protocol.V1;
using Proto = PeerDistill.Protocol.V1;

namespace PeerDistill.Api;

/// <summary>
/// <c>peerdistill.v1.CohortService</c> over <see cref="CohortApi"/>: translates protobuf to domain
/// calls and back, and refusals to status codes (InvalidArgument, NotFound, AlreadyExists,
/// Unavailable); nothing else lives here.
/// </summary>
public sealed class CohortGrpcService(CohortApi api) : CohortService.CohortServiceBase
{
    public override async Task<SubmitCohortReply> Submit(SubmitCohortRequest request, ServerCallContext context)
    {
        var (cohort, run) = await Call(() => api.SubmitAsync(request.SpecText, request.SpecFormat, context.CancellationToken)).ConfigureAwait(false);
        return new SubmitCohortReply { Cohort = cohort, Run = run };
    }

    public override async Task<CohortStatus> GetCohort(GetCohortRequest request, ServerCallContext context) =>
        ToStatus(await Call(() => api.GetAsync("GetCohort", request.Cohort, request.Run, context.CancellationToken)).ConfigureAwait(false));

    public override async Task<ListCohortsReply> ListCohorts(ListCohortsRequest request, ServerCallContext context)
    {
        Cluster.Cohorts.CohortState? state = request.State == Proto.CohortState.Unspecified ? null : (Cluster.Cohorts.CohortState)request.State;
        var reply = new ListCohortsReply();
        reply.Cohorts.AddRange((await Call(() => api.ListAsync(state, context.CancellationToken)).ConfigureAwait(false)).Select(ToStatus));
        return reply;
    }

    public override async Task WatchCohort(GetCohortRequest request, IServerStreamWriter<CohortStatus> responseStream, ServerCallContext context)
    {
        try
        {
            await foreach (var status in api.WatchAsync(request.Cohort, request.Run, context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(ToStatus(status), context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (CohortApiException e)
        {
            throw ToRpc(e);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client left.
        }
    }

    public override async Task<CancelCohortReply> CancelCohort(CancelCohortRequest request, ServerCallContext context) =>
        new() { State = (Proto.CohortState)await Call(() => api.CancelAsync(request.Cohort, request.Run, request.Reason, context.CancellationToken)).ConfigureAwait(false) };

    /// <summary>The wire form of a run's status.</summary>
    public static CohortStatus ToStatus(CohortRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var status = new CohortStatus
        {
            Cohort = run.Cohort,
            Run = run.Run,
            State = (Proto.CohortState)run.State,
            CreatedUnixMillis = run.CreatedUnixMillis,
        };
        if (run.FinishedUnixMillis is { } finished)
        {
            status.FinishedUnixMillis = finished;
        }

        foreach (var peer in run.Peers)
        {
            var p = new Proto.PeerStatus
            {
                Peer = peer.Name,
                WorkerId = peer.WorkerId ?? string.Empty,
                WorkerSilo = peer.Silo ?? string.Empty,
                Generation = peer.EverPlaced ? peer.Generation : 0,
                Step = peer.Step,
                TotalSteps = peer.TotalSteps,
                State = (Proto.PeerState)peer.State,
                Message = peer.Message,
            };
            if (peer.LastLoss is { } loss)
            {
                p.LastLoss = loss;
            }

            if (peer.Accuracy is { } accuracy)
            {
                p.Accuracy = accuracy;
            }

            status.Peers.Add(p);
        }

        status.Events.AddRange(run.Events.Select(e => new Proto.CohortEvent { UnixMillis = e.UnixMillis, Peer = e.Peer, Kind = e.Kind, Message = e.Message }));
        return status;
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (CohortApiException e)
        {
            throw ToRpc(e);
        }
    }

    private static RpcException ToRpc(CohortApiException e) => new(new Status(
        e.Error switch
        {
            ApiError.InvalidArgument => StatusCode.InvalidArgument,
            ApiError.NotFound => StatusCode.NotFound,
            ApiError.AlreadyExists => StatusCode.AlreadyExists,
            _ => StatusCode.Unavailable,
        },
        e.Message));
}
