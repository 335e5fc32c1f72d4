using System.Net;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// Answers a service's calls only to callers on this machine (loopback); any other caller gets
/// PERMISSION_DENIED before the service sees the call. A worker puts gRPC reflection behind it: its
/// port is open to the cluster's network, and what it serves is nobody else's business.
/// </summary>
public sealed class LoopbackOnlyInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(requestStream, responseStream, context);
    }

    private static void Admit(ServerCallContext context)
    {
        if (context.GetHttpContext().Connection.RemoteIpAddress is not { } address || !IPAddress.IsLoopback(address))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{context.Method} is served only to callers on this machine"));
        }
    }
}

/// <summary>Puts a host's gRPC reflection (v1alpha and v1) behind <see cref="LoopbackOnlyInterceptor"/>.</summary>
public static class LoopbackOnlyReflection
{
    public static IServiceCollection AddLoopbackOnlyReflection(this IServiceCollection services)
    {
        services.AddSingleton<LoopbackOnlyInterceptor>();
        services.Configure<GrpcServiceOptions<Grpc.Reflection.ReflectionServiceImpl>>(o => o.Interceptors.Add<LoopbackOnlyInterceptor>());
        services.Configure<GrpcServiceOptions<Grpc.Reflection.ReflectionV1ServiceImpl>>(o => o.Interceptors.Add<LoopbackOnlyInterceptor>());
        return services;
    }
}
