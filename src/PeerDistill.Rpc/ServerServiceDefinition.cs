using PeerDistill.Rpc.Internal;

namespace PeerDistill.Rpc;

/// <summary>The methods of a service and their handlers, ready to be mapped on a server.</summary>
public sealed class ServerServiceDefinition
{
    private ServerServiceDefinition(IReadOnlyList<ServerMethodBinding> methods) => Methods = methods;

    internal IReadOnlyList<ServerMethodBinding> Methods { get; }

    /// <summary>Starts a definition.</summary>
    public static Builder CreateBuilder() => new();

    /// <summary>Collects methods and handlers.</summary>
    public sealed class Builder
    {
        private readonly List<ServerMethodBinding> _methods = [];

        /// <summary>Adds a unary method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler) =>
            Add(method, MethodType.Unary, new ServerMethodBinding<TRequest, TResponse>(method, async (call, interceptors) =>
            {
                var request = await call.ReadSingleAsync().ConfigureAwait(false);
                UnaryServerMethod<TRequest, TResponse> chain = handler;
                for (var i = interceptors.Count - 1; i >= 0; i--)
                {
                    var (interceptor, next) = (interceptors[i], chain);
                    chain = (r, c) => interceptor.UnaryServerHandler(r, c, next);
                }

                var response = await chain(request, call).ConfigureAwait(false);
                await call.WriteAsync(response).ConfigureAwait(false);
            }));

        /// <summary>Adds a client-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler) =>
            Add(method, MethodType.ClientStreaming, new ServerMethodBinding<TRequest, TResponse>(method, async (call, interceptors) =>
            {
                ClientStreamingServerMethod<TRequest, TResponse> chain = handler;
                for (var i = interceptors.Count - 1; i >= 0; i--)
                {
                    var (interceptor, next) = (interceptors[i], chain);
                    chain = (r, c) => interceptor.ClientStreamingServerHandler(r, c, next);
                }

                var response = await chain(call, call).ConfigureAwait(false);
                await call.WriteAsync(response).ConfigureAwait(false);
            }));

        /// <summary>Adds a server-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler) =>
            Add(method, MethodType.ServerStreaming, new ServerMethodBinding<TRequest, TResponse>(method, async (call, interceptors) =>
            {
                var request = await call.ReadSingleAsync().ConfigureAwait(false);
                ServerStreamingServerMethod<TRequest, TResponse> chain = handler;
                for (var i = interceptors.Count - 1; i >= 0; i--)
                {
                    var (interceptor, next) = (interceptors[i], chain);
                    chain = (r, w, c) => interceptor.ServerStreamingServerHandler(r, w, c, next);
                }

                await chain(request, call, call).ConfigureAwait(false);
            }));

        /// <summary>Adds a bidirectional-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler) =>
            Add(method, MethodType.DuplexStreaming, new ServerMethodBinding<TRequest, TResponse>(method, async (call, interceptors) =>
            {
                DuplexStreamingServerMethod<TRequest, TResponse> chain = handler;
                for (var i = interceptors.Count - 1; i >= 0; i--)
                {
                    var (interceptor, next) = (interceptors[i], chain);
                    chain = (r, w, c) => interceptor.DuplexStreamingServerHandler(r, w, c, next);
                }

                await chain(call, call, call).ConfigureAwait(false);
            }));

        /// <summary>The definition.</summary>
        public ServerServiceDefinition Build() => new(_methods.ToList());

        private Builder Add(IMethod method, MethodType handlerType, ServerMethodBinding binding)
        {
            if (method.Type != handlerType)
            {
                throw new ArgumentException($"method '{method.FullName}' is {method.Type} but its handler is for {handlerType}", nameof(method));
            }

            if (_methods.Any(m => m.Method.FullName == method.FullName))
            {
                throw new ArgumentException($"method '{method.FullName}' was added twice", nameof(method));
            }

            _methods.Add(binding);
            return this;
        }
    }
}
