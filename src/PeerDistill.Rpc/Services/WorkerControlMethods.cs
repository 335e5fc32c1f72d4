using PeerDistill.Rpc.V1;

namespace PeerDistill.Rpc.Services;

/// <summary>Method descriptors of <c>peerdistill.v1.WorkerControl</c> (served by every worker).</summary>
public static class WorkerControlMethods
{
    public const string ServiceName = "peerdistill.v1.WorkerControl";

    public static readonly Method<ActivatePeerRequest, ActivatePeerReply> Activate = ProtobufMethod.Create<ActivatePeerRequest, ActivatePeerReply>(MethodType.Unary, ServiceName, "Activate");

    public static readonly Method<DeactivatePeerRequest, DeactivatePeerReply> Deactivate = ProtobufMethod.Create<DeactivatePeerRequest, DeactivatePeerReply>(MethodType.Unary, ServiceName, "Deactivate");
}
