using System.Runtime.CompilerServices;

namespace PeerDistill.Rpc;

/// <summary>A unary call in flight. Await it (or <see cref="ResponseAsync"/>) for the response; dispose it to cancel.</summary>
public sealed class AsyncUnaryCall<TResponse> : IDisposable
{
    private readonly Internal.ICallState _state;

    internal AsyncUnaryCall(Task<TResponse> response, Internal.ICallState state)
    {
        ResponseAsync = response;
        _state = state;
    }

    /// <summary>The response; fails with <see cref="RpcException"/> when the call does.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync;

    /// <summary>The status, once the call is complete.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The trailing metadata, once the call is complete.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    /// <summary>Awaits the response.</summary>
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => _state.Dispose();
}

/// <summary>A server-streaming call in flight: read <see cref="ResponseStream"/>; dispose to cancel.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly Internal.ICallState _state;

    internal AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Internal.ICallState state)
    {
        ResponseStream = responseStream;
        _state = state;
    }

    /// <summary>The responses.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync;

    /// <summary>The status, once the call is complete.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The trailing metadata, once the call is complete.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => _state.Dispose();
}

/// <summary>A client-streaming call in flight: write <see cref="RequestStream"/>, complete it, await the response.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly Internal.ICallState _state;

    internal AsyncClientStreamingCall(IClientStreamWriter<TRequest> requestStream, Task<TResponse> response, Internal.ICallState state)
    {
        RequestStream = requestStream;
        ResponseAsync = response;
        _state = state;
    }

    /// <summary>The requests.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The response; fails with <see cref="RpcException"/> when the call does.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync;

    /// <summary>The status, once the call is complete.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The trailing metadata, once the call is complete.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    /// <summary>Awaits the response.</summary>
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => _state.Dispose();
}

/// <summary>A bidirectional-streaming call in flight: both streams are independent; dispose to cancel.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly Internal.ICallState _state;

    internal AsyncDuplexStreamingCall(IClientStreamWriter<TRequest> requestStream, IAsyncStreamReader<TResponse> responseStream, Internal.ICallState state)
    {
        RequestStream = requestStream;
        ResponseStream = responseStream;
        _state = state;
    }

    /// <summary>The requests.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The responses.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync;

    /// <summary>The status, once the call is complete.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The trailing metadata, once the call is complete.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => _state.Dispose();
}
