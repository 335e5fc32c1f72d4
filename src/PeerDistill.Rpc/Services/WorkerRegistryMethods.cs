using PeerDistill.Rpc.V1;

namespace PeerDistill.Rpc.Services;

/// <summary>Method descriptors of <c>peerdistill.v1.WorkerRegistry</c> (served by the coordinator).</summary>
public static class WorkerRegistryMethods
{
    public const string ServiceName = "peerdistill.v1.WorkerRegistry";

    public static readonly Method<RegisterWorkerRequest, RegisterWorkerReply> Register = ProtobufMethod.Create<RegisterWorkerRequest, RegisterWorkerReply>(MethodType.Unary, ServiceName, "Register");

    public static readonly Method<HeartbeatRequest, HeartbeatReply> Heartbeat = ProtobufMethod.Create<HeartbeatRequest, HeartbeatReply>(MethodType.Unary, ServiceName, "Heartbeat");
}
