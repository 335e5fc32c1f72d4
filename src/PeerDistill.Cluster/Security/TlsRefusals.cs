using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Security;

/// <summary>
/// The check of a remote silo's certificate on a TLS connection, and the record of refusals: each is
/// counted; each reason is logged at most once every <see cref="RepeatInterval"/>, and at most
/// <see cref="MaxLinesPerSecond"/> lines a second in all, so a flood of attempts cannot flood the log.
/// </summary>
public sealed partial class TlsRefusals(ILogger<TlsRefusals> logger, TimeProvider time)
{
    /// <summary>How often one reason (the same certificate refused again) is logged at most.</summary>
    public static readonly TimeSpan RepeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>The most refusal lines logged in a second.</summary>
    public const int MaxLinesPerSecond = 10;

    private const int MaxReasonsRemembered = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _lastByReason = new(StringComparer.Ordinal);
    private long _refused;
    private long _windowStart = long.MinValue;
    private int _linesInWindow;

    /// <summary>Connections refused so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Whether <paramref name="certificate"/> is one of the cluster's (<see cref="ClusterCertificates.Refusal"/>); a refusal is counted and logged.</summary>
    public bool Accepts(X509Certificate2? certificate, X509Certificate2 authority)
    {
        var refusal = ClusterCertificates.Refusal(certificate, authority);
        if (refusal is null)
        {
            return true;
        }

        var count = Interlocked.Increment(ref _refused);
        if (ShouldLog(refusal))
        {
            LogRefused(logger, refusal, count);
        }

        return false;
    }

    private bool ShouldLog(string reason)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                (_windowStart, _linesInWindow) = (now, 0);
            }

            if (_linesInWindow >= MaxLinesPerSecond || (_lastByReason.TryGetValue(reason, out var last) && time.GetElapsedTime(last, now) < RepeatInterval))
            {
                return false;
            }

            if (_lastByReason.Count >= MaxReasonsRemembered)
            {
                _lastByReason.Clear();
            }

            _lastByReason[reason] = now;
            _linesInWindow++;
            return true;
        }
    }

    [LoggerMessage(450, LogLevel.Warning, "refused a cluster connection: {Reason} ({Count} refused so far)")]
    private static partial void LogRefused(ILogger logger, string reason, long count);
}
