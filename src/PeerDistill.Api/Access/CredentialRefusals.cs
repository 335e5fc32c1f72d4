using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Access;

/// <summary>
/// Logs requests refused for their credentials or their rate, per client address and at most once per
/// <see cref="Window"/> each: the first refusal of an address at once, then how many followed.
/// A flood costs a counter increment per request, not a log line.
/// </summary>
public sealed partial class CredentialRefusals(ILogger<CredentialRefusals> logger, TimeProvider time)
{
    /// <summary>How often one address's refusals are logged at most.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private const int MaxAddresses = 10_000;

    private readonly ConcurrentDictionary<(string Address, string Kind), Tally> _tallies = new();

    /// <summary>A request from <paramref name="address"/> refused (<paramref name="kind"/>: unauthenticated, denied, rate limited) for <paramref name="reason"/>.</summary>
    public void Refused(string? address, string kind, string reason)
    {
        address ??= "unknown";
        if (_tallies.Count > MaxAddresses)
        {
            _tallies.Clear();
        }

        var tally = _tallies.GetOrAdd((address, kind), _ => new Tally());
        var now = time.GetTimestamp();
        long held;
        lock (tally)
        {
            tally.Count++;
            tally.LastReason = reason;
            if (tally.Since != 0 && time.GetElapsedTime(tally.Since, now) < Window)
            {
                return;
            }

            held = tally.Count;
            tally.Count = 0;
            tally.Since = now;
        }

        LogRefused(logger, held, address, kind, reason, Window.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} request(s) from {Address} refused ({Kind}): {Reason} (logged at most once per {Seconds} s per address)")]
    private static partial void LogRefused(ILogger logger, long count, string address, string kind, string reason, double seconds);

    private sealed class Tally
    {
        public long Count;
        public long Since;
        public string LastReason = string.Empty;
    }
}
