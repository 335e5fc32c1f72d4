namespace PeerDistill.Rpc.Tests.Support;

/// <summary>Starts a real Kestrel server on 127.0.0.1, port 0, with the interop and exchange services.</summary>
internal static class TestServer
{
    public static Task<GrpcServerHost> StartAsync(Action<GrpcServerOptions>? configure = null, Action<GrpcServerHostOptions>? host = null)
    {
        var options = new GrpcServerHostOptions { ConfigureGrpc = configure };
        host?.Invoke(options);
        return GrpcServerHost.StartAsync(options, InteropService.Create(), InteropService.CreateExchange());
    }
}
