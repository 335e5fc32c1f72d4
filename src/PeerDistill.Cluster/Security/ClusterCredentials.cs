using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Security;

/// <summary>
/// A node's TLS credentials (<see cref="ClusterTlsOptions"/>) for every TLS endpoint and connection
/// of the process, read again when their files change (a rotated Kubernetes secret, a certificate
/// issued anew): each handshake asks for <see cref="Current"/>, which compares the files' contents
/// with those loaded at most once every <see cref="CheckInterval"/>, and loads them when they
/// differ. New connections then use the new certificate (and trust the new authority); connections
/// already open keep theirs. Files that do not load, or whose certificate the authority did not
/// issue (a rotation half written: the certificate new, the key old), are logged once and the
/// previous credentials stay in use until the files are whole again.
/// </summary>
public sealed partial class ClusterCredentials
{
    /// <summary>How often the files are compared with those loaded at most (a handshake in between uses what was loaded).</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly string _authorityPath;
    private readonly ClusterTlsOptions _files;
    private readonly TlsRefusals _refusals;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private ClusterTls _current;
    private byte[] _loaded;
    private byte[]? _refused;
    private long _checkedAt;

    /// <summary>Loads the files of <paramref name="files"/> (checked by <see cref="ClusterTlsOptions.Problems"/>); throws when they do not load or do not belong together.</summary>
    public ClusterCredentials(ClusterTlsOptions files, TlsRefusals refusals, TimeProvider time, ILogger<ClusterCredentials> logger)
    {
        ArgumentNullException.ThrowIfNull(files);
        _certificatePath = files.Certificate ?? throw new ArgumentException("no certificate is named", nameof(files));
        _keyPath = files.Key ?? throw new ArgumentException("no key is named", nameof(files));
        _authorityPath = files.Authority ?? throw new ArgumentException("no authority is named", nameof(files));
        _files = files;
        _refusals = refusals;
        _time = time;
        _logger = logger;
        _loaded = Fingerprint();
        _current = files.Load();
        if (_current.Problem() is { } problem)
        {
            _current.Dispose();
            throw new InvalidDataException($"'{_certificatePath}': {problem}");
        }

        _checkedAt = time.GetTimestamp();
    }

    /// <summary>The credentials to use for a connection starting now (the files are checked first when <see cref="CheckInterval"/> has passed).</summary>
    public ClusterTls Current
    {
        get
        {
            if (_time.GetElapsedTime(Interlocked.Read(ref _checkedAt)) >= CheckInterval)
            {
                Refresh();
            }

            return Volatile.Read(ref _current);
        }
    }

    /// <summary>Whether a remote certificate is one of the cluster's (by the current authority); a refusal is counted and logged (<see cref="TlsRefusals"/>).</summary>
    public bool Accepts(X509Certificate? remote) =>
        _refusals.Accepts(remote is null ? null : remote as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()), Current.Authority);

    /// <summary>
    /// A TLS server's settings for one handshake: the current certificate; with
    /// <paramref name="requireClientCertificate"/>, a client certificate of the cluster's authority is
    /// required (the exchange), otherwise none is asked for (the API: its callers present tokens).
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(bool requireClientCertificate) => new()
    {
        ServerCertificateContext = Current.ServerContext,
        ClientCertificateRequired = requireClientCertificate,
        RemoteCertificateValidationCallback = requireClientCertificate ? (_, certificate, _, _) => Accepts(certificate) : null,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };

    /// <summary>
    /// A TLS client's settings for connections to other nodes (the exchange): each connection
    /// presents the certificate current when it starts, and accepts only a server certificate of the
    /// cluster's authority (host names are not checked: the authority's certificates are the cluster).
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current.Certificate,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accepts(certificate),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };

    private void Refresh()
    {
        lock (_gate)
        {
            if (_time.GetElapsedTime(_checkedAt) < CheckInterval)
            {
                return;
            }

            Interlocked.Exchange(ref _checkedAt, _time.GetTimestamp());
            byte[] fingerprint;
            try
            {
                fingerprint = Fingerprint();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Refuse(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(e.Message)), e.Message);
                return;
            }

            if (fingerprint.AsSpan().SequenceEqual(_loaded) || (_refused is not null && fingerprint.AsSpan().SequenceEqual(_refused)))
            {
                return;
            }

            ClusterTls loaded;
            try
            {
                loaded = _files.Load();
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Refuse(fingerprint, e.Message);
                return;
            }

            if (loaded.Problem() is { } problem)
            {
                loaded.Dispose();
                Refuse(fingerprint, $"'{_certificatePath}': {problem}");
                return;
            }

            // The previous credentials are left to the collector: handshakes under way may still use them.
            Volatile.Write(ref _current, loaded);
            (_loaded, _refused) = (fingerprint, null);
            LogReloaded(_logger, _certificatePath, loaded.Certificate.Subject, loaded.Certificate.SerialNumber, loaded.Certificate.NotAfter.ToUniversalTime());
        }
    }

    private void Refuse(byte[] fingerprint, string reason)
    {
        if (_refused is null || !fingerprint.AsSpan().SequenceEqual(_refused))
        {
            _refused = fingerprint;
            LogNotReloaded(_logger, reason);
        }
    }

    /// <summary>A digest of the three files' contents (each small), to tell whether any changed.</summary>
    private byte[] Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in new[] { _certificatePath, _keyPath, _authorityPath })
        {
            var bytes = File.ReadAllBytes(path);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }

        return hash.GetHashAndReset();
    }
}
