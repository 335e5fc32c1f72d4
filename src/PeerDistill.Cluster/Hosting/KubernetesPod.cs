namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// The Kubernetes pod a silo runs in, as the chart describes it to the container through the downward
/// API (<c>POD_NAME</c>, <c>POD_NAMESPACE</c>, <c>POD_IP</c>).
/// </summary>
public sealed record KubernetesPod(string Name, string? Namespace, string? IP)
{
    /// <summary>
    /// The pod of this process: in Kubernetes (the kubelet sets <c>KUBERNETES_SERVICE_HOST</c> in every
    /// container), named by <c>POD_NAME</c> or else the host name, which Kubernetes makes the pod's name
    /// (Orleans' Kubernetes hosting reads the same variables); null elsewhere.
    /// </summary>
    public static KubernetesPod? FromEnvironment()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
        {
            return null;
        }

        static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        return new KubernetesPod(Variable("POD_NAME") ?? Environment.MachineName, Variable("POD_NAMESPACE"), Variable("POD_IP"));
    }
}
