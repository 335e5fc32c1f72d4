using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Transport.Internal;

namespace PeerDistill.Cluster.Transport;

/// <summary>
/// Ends a call whose request stream carries bytes that are not the method's message with INTERNAL
/// (what gRPC implementations answer for a message they cannot parse) rather than UNKNOWN: the
/// client sent garbage, the server did not fail. Grpc.AspNetCore parses stream messages inside the
/// handler's <c>MoveNext</c>, so the parse error surfaces here; every other exception goes on as it was.
/// A single request message (unary, server streaming) is parsed before any interceptor runs, and is
/// checked before that (<see cref="MalformedRequestMiddleware"/>), with the same answer.
/// </summary>
internal sealed class MalformedMessageInterceptor(RequestMessages messages, ILogger<MalformedMessageInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Malformed<TRequest>(context, e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Malformed<TRequest>(context, e);
        }
    }

    private RpcException Malformed<TRequest>(ServerCallContext context, InvalidProtocolBufferException e)
    {
        var refusal = MalformedRequest.NotTheMessage(messages.Find(context.Method)?.FullName ?? typeof(TRequest).Name, e);
        RequestLog.MalformedRequest(logger, context.Method, refusal.StatusCode, refusal.Status.Detail);
        return refusal;
    }
}
