using PeerDistill.Rpc.V1;

namespace PeerDistill.Rpc.Services;

/// <summary>Method descriptors of <c>peerdistill.v1.CohortService</c> (served by the coordinator).</summary>
public static class CohortServiceMethods
{
    public const string ServiceName = "peerdistill.v1.CohortService";

    public static readonly Method<SubmitCohortRequest, SubmitCohortReply> Submit = ProtobufMethod.Create<SubmitCohortRequest, SubmitCohortReply>(MethodType.Unary, ServiceName, "Submit");

    public static readonly Method<GetCohortRequest, CohortStatus> GetCohort = ProtobufMethod.Create<GetCohortRequest, CohortStatus>(MethodType.Unary, ServiceName, "GetCohort");

    public static readonly Method<ListCohortsRequest, ListCohortsReply> ListCohorts = ProtobufMethod.Create<ListCohortsRequest, ListCohortsReply>(MethodType.Unary, ServiceName, "ListCohorts");

    public static readonly Method<GetCohortRequest, CohortStatus> WatchCohort = ProtobufMethod.Create<GetCohortRequest, CohortStatus>(MethodType.ServerStreaming, ServiceName, "WatchCohort");

    public static readonly Method<CancelCohortRequest, CancelCohortReply> CancelCohort = ProtobufMethod.Create<CancelCohortRequest, CancelCohortReply>(MethodType.Unary, ServiceName, "CancelCohort");
}
