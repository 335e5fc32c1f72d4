using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace PeerDistill.Protocol;

/// <summary>
/// Ends a call whose request stream carries bytes that are not the method's message with INTERNAL
/// (what gRPC implementations answer for a message they cannot parse) rather than UNKNOWN: the
/// client sent garbage, the server did not fail. Grpc.AspNetCore parses stream messages inside the
/// handler's <c>MoveNext</c>, so the parse error surfaces here; every other exception goes on as it was.
/// </summary>
internal sealed class MalformedMessageInterceptor : Interceptor
{
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Malformed(e);
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
            throw Malformed(e);
        }
    }

    private static RpcException Malformed(InvalidProtocolBufferException e) =>
        new(new Status(StatusCode.Internal, "a request message could not be parsed: " + e.Message));
}
