using Grpc.Core;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Worker.Hosting;

/// <summary><c>peerdistill.v1.WorkerControl</c>: Activate and Deactivate, answered by the worker's <see cref="WorkerHost"/>.</summary>
internal sealed class WorkerControlService(Func<WorkerHost> host) : WorkerControl.WorkerControlBase
{
    public override Task<ActivatePeerReply> Activate(ActivatePeerRequest request, ServerCallContext context) =>
        Task.FromResult(host().Activate(request.Assignment));

    public override Task<DeactivatePeerReply> Deactivate(DeactivatePeerRequest request, ServerCallContext context) =>
        host().DeactivateAsync(request, context.CancellationToken);
}
