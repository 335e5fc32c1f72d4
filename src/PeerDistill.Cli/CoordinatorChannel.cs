using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Cli;

/// <summary>
/// How the client commands (submit, status, cohorts, workers, metrics, checkpoints) reach a
/// coordinator: a gRPC channel to its address; for an <c>https://</c> address, its certificate must
/// chain to the authority of <c>--ca</c> (or of <see cref="AuthorityVariable"/>), else to one in the
/// system's trust store, and name the host dialled.
/// </summary>
internal static class CoordinatorChannel
{
    /// <summary>The environment variable naming the authority when <c>--ca</c> is not given.</summary>
    public const string AuthorityVariable = "PEERDISTILL_CA";

    /// <summary>The <c>--ca</c> flag of a client command.</summary>
    public static Option<string?> AuthorityOption() => new("--ca")
    {
        Description = $"The authority (PEM; peerdistill certs init) an https coordinator's certificate must chain to; default ${AuthorityVariable}, else the system's trust store.",
    };

    /// <summary>
    /// A channel to <paramref name="address"/>, trusting the authority file <paramref name="authorityFile"/>
    /// (else <see cref="AuthorityVariable"/>'s); an <see cref="ArgumentException"/> naming the flag and
    /// the file when the address or the file is not one.
    /// </summary>
    public static GrpcChannel Open(string address, string? authorityFile)
    {
        var (source, file) = string.IsNullOrWhiteSpace(authorityFile)
            ? ("$" + AuthorityVariable, Environment.GetEnvironmentVariable(AuthorityVariable))
            : ("--ca", authorityFile);
        if (string.IsNullOrWhiteSpace(file))
        {
            return GrpcChannels.ForAddress(address);
        }

        X509Certificate2 authority;
        try
        {
            authority = ClusterCertificates.LoadCertificate(file);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{source}: {e.Message}", e);
        }

        return GrpcChannels.ForAddress(address, ClusterCertificates.TrustServersOf(authority));
    }
}
