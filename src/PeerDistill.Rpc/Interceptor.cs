namespace PeerDistill.Rpc;

/// <summary>
/// Wraps server handlers, for logging, authentication, telemetry: override the kinds of call to
/// intercept and call <c>continuation</c> to go on (or throw an <see cref="RpcException"/> to refuse).
/// Interceptors run in the order they were added to <see cref="GrpcServerOptions.Interceptors"/>.
/// </summary>
public abstract class Interceptor
{
    /// <summary>Intercepts a unary call.</summary>
    public virtual Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        => continuation(request, context);

    /// <summary>Intercepts a client-streaming call.</summary>
    public virtual Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        => continuation(requestStream, context);

    /// <summary>Intercepts a server-streaming call.</summary>
    public virtual Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        => continuation(request, responseStream, context);

    /// <summary>Intercepts a bidirectional-streaming call.</summary>
    public virtual Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        => continuation(requestStream, responseStream, context);
}
