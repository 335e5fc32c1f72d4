namespace PeerDistill.Rpc.Internal;

/// <summary>Starts calls as HTTP/2 requests on a <see cref="GrpcChannel"/>.</summary>
internal sealed class HttpCallInvoker(GrpcChannel channel) : CallInvoker
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, TRequest request)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.Start(request);
        return new AsyncUnaryCall<TResponse>(call.ReadSingleResponseAsync(), call);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, TRequest request)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.Start(request);
        return new AsyncServerStreamingCall<TResponse>(call, call);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartStreaming();
        return new AsyncClientStreamingCall<TRequest, TResponse>(call.RequestWriter, call.ReadSingleResponseAsync(), call);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestWriter, call, call);
    }
}
