using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>Kestrel's gRPC listener and the server's limits, from <see cref="GrpcServiceHostOptions"/>.</summary>
internal sealed class GrpcListenerSetup(IOptions<GrpcServiceHostOptions> grpc, ServerListeners listeners) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var options = grpc.Value;
        var certificate = LoadCertificate(options);
        kestrel.AddServerHeader = false;
        kestrel.Limits.MinRequestBodyDataRate = null;
        kestrel.Limits.MinResponseDataRate = null;
        // gRPC streams (the exchange) carry any number of messages; each is bounded by MaxReceiveMessageSize.
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
        kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
        kestrel.Limits.Http2.InitialStreamWindowSize = options.StreamWindowSize;
        kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(options.StreamWindowSize * 2, 2 * 1024 * 1024);
        kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
        kestrel.Listen(IPAddress.Parse(options.Host), options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }

            listeners.Add(ServerListeners.Grpc, listen, certificate is not null);
        });
    }

    private static X509Certificate2? LoadCertificate(GrpcServiceHostOptions options)
    {
        if (string.IsNullOrEmpty(options.CertificatePath))
        {
            return null;
        }

        if (!File.Exists(options.CertificatePath))
        {
            throw new FileNotFoundException($"TLS certificate '{options.CertificatePath}' does not exist", options.CertificatePath);
        }

        if (options.CertificateKeyPath is null)
        {
            return X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        }

        var pem = options.CertificatePassword is null
            ? X509Certificate2.CreateFromPemFile(options.CertificatePath, options.CertificateKeyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(options.CertificatePath, options.CertificatePassword, options.CertificateKeyPath);
        // Kestrel on Linux needs the key in an exportable, persisted form.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
