using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Rpc.Internal;

/// <summary>A method bound to its handler, whatever its message types.</summary>
internal abstract class ServerMethodBinding
{
    public abstract IMethod Method { get; }

    public abstract Task HandleAsync(HttpContext http, GrpcServerOptions options, ILogger logger);
}

/// <summary>Runs calls of one method: protocol checks, then the handler behind the interceptors.</summary>
internal sealed class ServerMethodBinding<TRequest, TResponse>(
    Method<TRequest, TResponse> method,
    Func<ServerCall<TRequest, TResponse>, IList<Interceptor>, Task> invoke) : ServerMethodBinding
{
    public override IMethod Method => method;

    public override async Task HandleAsync(HttpContext http, GrpcServerOptions options, ILogger logger)
    {
        if (!await ProtocolChecks.AcceptAsync(http, logger).ConfigureAwait(false))
        {
            return;
        }

        using var call = new ServerCall<TRequest, TResponse>(http, method, options, logger);
        if (!await call.InitializeAsync().ConfigureAwait(false))
        {
            return;
        }

        await call.RunAsync(c => invoke(c, options.Interceptors)).ConfigureAwait(false);
    }
}
