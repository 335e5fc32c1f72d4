using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;
using PeerDistill.Protocol.V1;
using Proto = PeerDistill.Protocol.V1;

namespace PeerDistill.Api;

/// <summary>
/// <c>peerdistill.v1.CohortService</c> over <see cref="CohortApi"/>: translates protobuf to domain
/// calls and the API's read model to protobuf (every enum value mapped by name, never by number),
/// and refusals to status codes (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, Aborted, Unavailable); nothing
/// else lives here. Each method needs a credential of the role its attribute names (reader by default).
/// </summary>
[Authorize(Policy = AccessPolicies.Reader)]
public sealed class CohortGrpcService(CohortApi api, CheckpointExporter exporter) : CohortService.CohortServiceBase
{
    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<SubmitCohortReply> Submit(SubmitCohortRequest request, ServerCallContext context)
    {
        var submitted = await Call(() => api.SubmitAsync(Caller(context), request.SpecText, request.SpecFormat, request.IdempotencyKey is { Length: > 0 } key ? key : null, context.CancellationToken)).ConfigureAwait(false);
        return new SubmitCohortReply { Cohort = submitted.Cohort, Run = submitted.Run, Replayed = submitted.Replayed };
    }

    public override async Task<CohortStatus> GetCohort(GetCohortRequest request, ServerCallContext context) =>
        ToStatus(await Call(() => api.GetAsync(Caller(context), "GetCohort", request.Cohort, request.Run, context.CancellationToken)).ConfigureAwait(false));

    public override async Task<ListCohortsReply> ListCohorts(ListCohortsRequest request, ServerCallContext context)
    {
        var state = request.State switch
        {
            Proto.CohortState.Unspecified => (RunState?)null,
            Proto.CohortState.Pending => RunState.Pending,
            Proto.CohortState.Running => RunState.Running,
            Proto.CohortState.Completed => RunState.Completed,
            Proto.CohortState.Failed => RunState.Failed,
            Proto.CohortState.Cancelled => RunState.Cancelled,
            Proto.CohortState.Paused => RunState.Paused,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"ListCohorts: state {(int)request.State} is not a cohort state (COHORT_STATE_PENDING .. COHORT_STATE_PAUSED, or unspecified for all)")),
        };
        var filter = new RunFilter(state, request.Cohort, request.PageSize == 0 ? RunFilter.DefaultPageSize : request.PageSize, request.PageToken);
        var page = await Call(() => api.ListAsync(Caller(context), filter, context.CancellationToken)).ConfigureAwait(false);
        var reply = new ListCohortsReply { NextPageToken = page.NextCursor ?? string.Empty };
        reply.Cohorts.AddRange(page.Runs.Select(ToStatus));
        return reply;
    }

    public override async Task WatchCohort(GetCohortRequest request, IServerStreamWriter<CohortStatus> responseStream, ServerCallContext context)
    {
        try
        {
            await foreach (var status in api.WatchAsync(Caller(context), request.Cohort, request.Run, request.HasAfterVersion ? request.AfterVersion : null, context.CancellationToken).ConfigureAwait(false))
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

    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<CancelCohortReply> CancelCohort(CancelCohortRequest request, ServerCallContext context) =>
        new() { State = ToWire((await Call(() => api.CancelAsync(Caller(context), request.Cohort, request.Run, request.Reason, request.HasExpectedVersion ? request.ExpectedVersion : null, context.CancellationToken)).ConfigureAwait(false)).State) };

    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<SteerCohortReply> PauseCohort(PauseCohortRequest request, ServerCallContext context) =>
        ToReply(await Call(() => api.PauseAsync(Caller(context), request.Cohort, request.Run, context.CancellationToken)).ConfigureAwait(false));

    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<SteerCohortReply> ResumeCohort(ResumeCohortRequest request, ServerCallContext context) =>
        ToReply(await Call(() => api.ResumeAsync(Caller(context), request.Cohort, request.Run, context.CancellationToken)).ConfigureAwait(false));

    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<SteerCohortReply> UpdateCohort(UpdateCohortRequest request, ServerCallContext context) =>
        ToReply(await Call(() => api.UpdateAsync(Caller(context), request.Cohort, request.Run, request.Change, context.CancellationToken)).ConfigureAwait(false));

    /// <summary>The authenticated caller of a call (every method but health requires one).</summary>
    private static ApiCaller Caller(ServerCallContext context) => ApiCaller.From(context.GetHttpContext());

    private static SteerCohortReply ToReply(SteerResult result) => new() { Status = ToStatus(result.Run), Step = result.Step };

    [Authorize(Policy = AccessPolicies.Operator)]
    public override async Task<DeleteCohortReply> DeleteCohort(DeleteCohortRequest request, ServerCallContext context)
    {
        var deleted = await Call(() => api.DeleteAsync(Caller(context), request.Cohort, request.Run, request.DeleteFiles, request.HasExpectedVersion ? request.ExpectedVersion : null, context.CancellationToken)).ConfigureAwait(false);
        var reply = new DeleteCohortReply();
        reply.DeletedDirectories.AddRange(deleted);
        return reply;
    }

    public override async Task<GetRunMetricsReply> GetRunMetrics(GetRunMetricsRequest request, ServerCallContext context)
    {
        var filter = new MetricsFilter([.. request.Peers], request.FromStep, request.ToStep == 0 ? long.MaxValue : request.ToStep, request.MaxPoints == 0 ? MetricsFilter.MaxPoints : request.MaxPoints);
        var (_, points) = await Call(() => api.MetricsAsync(Caller(context), request.Cohort, request.Run, filter, context.CancellationToken)).ConfigureAwait(false);
        var reply = new GetRunMetricsReply();
        foreach (var p in points)
        {
            var point = new Proto.MetricPoint { Peer = p.Peer, Step = p.Step, UnixMillis = p.Time.ToUnixTimeMilliseconds() };
            if (p.Loss is { } loss)
            {
                point.Loss = loss;
            }

            if (p.CrossEntropy is { } ce)
            {
                point.Ce = ce;
            }

            if (p.Distillation is { } kd)
            {
                point.Kd = kd;
            }

            if (p.Hint is { } hint)
            {
                point.Hint = hint;
            }

            if (p.LearningRate is { } lr)
            {
                point.Lr = lr;
            }

            if (p.SamplesPerSecond is { } rate)
            {
                point.SamplesPerS = rate;
            }

            if (p.Accuracy is { } accuracy)
            {
                point.Accuracy = accuracy;
            }

            if (p.EvalLoss is { } evalLoss)
            {
                point.EvalLoss = evalLoss;
            }

            reply.Points.Add(point);
        }

        return reply;
    }

    public override async Task<ListCheckpointsReply> ListCheckpoints(ListCheckpointsRequest request, ServerCallContext context)
    {
        var reply = new ListCheckpointsReply();
        var (_, checkpoints) = await Call(() => api.ListCheckpointsAsync(Caller(context), request.Cohort, request.Run, request.Peer, context.CancellationToken)).ConfigureAwait(false);
        reply.Checkpoints.AddRange(checkpoints.Select(c => new CheckpointInfo { Peer = c.Peer, Step = c.Step, Bytes = c.Bytes, WrittenUnixMillis = c.Written.ToUnixTimeMilliseconds(), Path = c.Path }));
        return reply;
    }

    /// <summary>The bytes of one chunk of a checkpoint download.</summary>
    public const int DownloadChunkBytes = 64 * 1024;

    public override async Task DownloadCheckpoint(DownloadCheckpointRequest request, IServerStreamWriter<CheckpointChunk> responseStream, ServerCallContext context)
    {
        var torchScript = request.Format switch
        {
            CheckpointFormat.Unspecified => false,
            CheckpointFormat.Torchscript => true,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"DownloadCheckpoint: format {(int)request.Format} is not a checkpoint format (CHECKPOINT_FORMAT_UNSPECIFIED for the checkpoint file, CHECKPOINT_FORMAT_TORCHSCRIPT)")),
        };
        var checkpoint = await Call(() => api.FindCheckpointAsync(Caller(context), request.Cohort, request.Run, request.Peer, request.HasStep ? request.Step : null, context.CancellationToken)).ConfigureAwait(false);
        var content = await Call(() => exporter.OpenAsync(checkpoint, torchScript, context.CancellationToken)).ConfigureAwait(false);
        await using (content.ConfigureAwait(false))
        {
            var buffer = new byte[DownloadChunkBytes];
            var read = await content.ReadAsync(buffer, context.CancellationToken).ConfigureAwait(false);
            await responseStream.WriteAsync(new CheckpointChunk
            {
                Data = ByteString.CopyFrom(buffer, 0, read),
                Step = checkpoint.Step,
                FileName = CheckpointExporter.FileName(request.Cohort, checkpoint, torchScript),
                TotalBytes = content.Length,
            }, context.CancellationToken).ConfigureAwait(false);
            while ((read = await content.ReadAsync(buffer, context.CancellationToken).ConfigureAwait(false)) > 0)
            {
                await responseStream.WriteAsync(new CheckpointChunk { Data = ByteString.CopyFrom(buffer, 0, read) }, context.CancellationToken).ConfigureAwait(false);
            }
        }
    }

    [Authorize(Policy = AccessPolicies.Admin)]
    public override async Task<ListWorkersReply> ListWorkers(ListWorkersRequest request, ServerCallContext context)
    {
        var reply = new ListWorkersReply();
        foreach (var worker in await Call(api.ListWorkersAsync).ConfigureAwait(false))
        {
            var status = new WorkerStatus { Worker = worker.Worker, Silo = worker.Silo, TakesPeers = worker.TakesPeers };
            status.Slots.AddRange(worker.Slots.Select(s => new WorkerSlot { Index = s.Index, Device = s.Device, Peer = s.Peer ?? string.Empty, Started = s.Started }));
            reply.Workers.Add(status);
        }

        return reply;
    }

    /// <summary>The wire form of a run's status.</summary>
    public static CohortStatus ToStatus(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var status = new CohortStatus
        {
            Cohort = run.Cohort,
            Run = run.Run,
            State = ToWire(run.State),
            CreatedUnixMillis = run.Created.ToUnixTimeMilliseconds(),
            Version = run.Version,
        };
        if (run.Finished is { } finished)
        {
            status.FinishedUnixMillis = finished.ToUnixTimeMilliseconds();
        }

        foreach (var peer in run.Peers)
        {
            var p = new Proto.PeerStatus
            {
                Peer = peer.Name,
                WorkerId = peer.WorkerId ?? string.Empty,
                WorkerSilo = peer.WorkerSilo ?? string.Empty,
                Generation = peer.Generation,
                Step = peer.Step,
                TotalSteps = peer.TotalSteps,
                State = ToWire(peer.State),
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

            if (peer.StepMs is { } stepMs)
            {
                p.StepMs = stepMs;
            }

            if (peer.ExchangeWaitMs is { } waitMs)
            {
                p.ExchangeWaitMs = waitMs;
            }

            status.Peers.Add(p);
        }

        if (run.PausedAtStep is { } pausedAt)
        {
            status.PausedAtStep = pausedAt;
        }

        status.Changes.AddRange(run.Changes.Select(ToWire));
        status.Events.AddRange(run.Events.Select(e => new Proto.CohortEvent { UnixMillis = e.At.ToUnixTimeMilliseconds(), Peer = e.Peer, Kind = e.Kind, Message = e.Message }));
        return status;
    }

    private static Proto.CohortChange ToWire(Core.Spec.CohortChange change)
    {
        var wire = new Proto.CohortChange { Step = change.Step };
        if (change.Alpha is { } alpha)
        {
            wire.Alpha = alpha;
        }

        if (change.AlphaWarmupSteps is { } warmup)
        {
            wire.AlphaWarmupSteps = warmup;
        }

        if (change.Temperature is { } temperature)
        {
            wire.Temperature = temperature;
        }

        if (change.LearningRateScale is { } scale)
        {
            wire.LrScale = scale;
        }

        if (change.EvaluationEverySteps is { } evaluate)
        {
            wire.EvaluationEverySteps = evaluate;
        }

        if (change.EvaluationAtEpochEnd is { } atEpochEnd)
        {
            wire.EvaluationAtEpochEnd = atEpochEnd;
        }

        if (change.CheckpointEverySteps is { } checkpoint)
        {
            wire.CheckpointEverySteps = checkpoint;
        }

        return wire;
    }

    private static Proto.CohortState ToWire(RunState state) => state switch
    {
        RunState.Pending => Proto.CohortState.Pending,
        RunState.Running => Proto.CohortState.Running,
        RunState.Completed => Proto.CohortState.Completed,
        RunState.Failed => Proto.CohortState.Failed,
        RunState.Cancelled => Proto.CohortState.Cancelled,
        RunState.Paused => Proto.CohortState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a run state"),
    };

    private static Proto.PeerState ToWire(Model.PeerState state) => state switch
    {
        Model.PeerState.Pending => Proto.PeerState.Pending,
        Model.PeerState.Active => Proto.PeerState.Active,
        Model.PeerState.Recovering => Proto.PeerState.Recovering,
        Model.PeerState.Stalled => Proto.PeerState.Stalled,
        Model.PeerState.Completed => Proto.PeerState.Completed,
        Model.PeerState.Failed => Proto.PeerState.Failed,
        Model.PeerState.Interrupted => Proto.PeerState.Interrupted,
        Model.PeerState.Paused => Proto.PeerState.Paused,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a peer state"),
    };

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

    internal static RpcException ToRpc(CohortApiException e) => new(new Status(
        e.Error switch
        {
            ApiError.InvalidArgument => StatusCode.InvalidArgument,
            ApiError.NotFound => StatusCode.NotFound,
            ApiError.AlreadyExists => StatusCode.AlreadyExists,
            ApiError.FailedPrecondition => StatusCode.FailedPrecondition,
            ApiError.StaleVersion => StatusCode.Aborted,
            ApiError.KeyReused => StatusCode.InvalidArgument,
            ApiError.Unavailable => StatusCode.Unavailable,
            ApiError.PermissionDenied => StatusCode.PermissionDenied,
            _ => throw new ArgumentOutOfRangeException(nameof(e), e.Error, "not an API error"),
        },
        e.Message.Length <= MaxDetailLength ? e.Message : e.Message[..MaxDetailLength] + "..."));

    /// <summary>
    /// The longest status message sent (the message travels in a response header, which clients
    /// refuse beyond their header limit: 64 KiB in grpc-dotnet, 8 KiB in some proxies).
    /// </summary>
    public const int MaxDetailLength = 4096;
}
