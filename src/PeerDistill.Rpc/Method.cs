namespace PeerDistill.Rpc;

/// <summary>Describes one method of a service: its kind, names and message marshallers.</summary>
public sealed class Method<TRequest, TResponse> : IMethod
{
    /// <summary>Creates a method descriptor.</summary>
    public Method(MethodType type, string serviceName, string name, Marshaller<TRequest> requestMarshaller, Marshaller<TResponse> responseMarshaller)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Type = type;
        ServiceName = serviceName;
        Name = name;
        RequestMarshaller = requestMarshaller;
        ResponseMarshaller = responseMarshaller;
        FullName = "/" + serviceName + "/" + name;
    }

    /// <inheritdoc/>
    public MethodType Type { get; }

    /// <inheritdoc/>
    public string ServiceName { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string FullName { get; }

    /// <summary>Marshals requests.</summary>
    public Marshaller<TRequest> RequestMarshaller { get; }

    /// <summary>Marshals responses.</summary>
    public Marshaller<TResponse> ResponseMarshaller { get; }
}

/// <summary>What every method descriptor says about itself, whatever its message types.</summary>
public interface IMethod
{
    /// <summary>The kind of call.</summary>
    MethodType Type { get; }

    /// <summary>The fully qualified service name, e.g. <c>peerdistill.v1.PeerExchange</c>.</summary>
    string ServiceName { get; }

    /// <summary>The method name within the service.</summary>
    string Name { get; }

    /// <summary>The HTTP/2 path of the method: <c>/{service}/{method}</c>.</summary>
    string FullName { get; }
}
