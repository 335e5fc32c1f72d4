using Google.Protobuf.Reflection;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>
/// The request message of every gRPC method a process (<see cref="GrpcHosting"/>) can serve, by the
/// method's path (<c>/peerdistill.v1.CohortService/Submit</c>): the project's own services and the
/// health and reflection services every host adds. A method not described here (a bench's
/// hand-bound method) keeps its framing checks, but its message is not parsed ahead of the handler.
/// </summary>
internal sealed class RequestMessages
{
    private static readonly FileDescriptor[] Files =
    [
        CohortReflection.Descriptor,
        ExchangeReflection.Descriptor,
        Grpc.Health.V1.HealthReflection.Descriptor,
        Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor,
        Grpc.Reflection.V1.ReflectionReflection.Descriptor,
    ];

    private readonly Dictionary<string, MessageDescriptor> _byPath = Files
        .SelectMany(f => f.Services)
        .SelectMany(s => s.Methods)
        .ToDictionary(m => "/" + m.Service.FullName + "/" + m.Name, m => m.InputType, StringComparer.Ordinal);

    /// <summary>The request message of the method at <paramref name="path"/>, if it is one of those described.</summary>
    public MessageDescriptor? Find(string path) => _byPath.GetValueOrDefault(path);
}
