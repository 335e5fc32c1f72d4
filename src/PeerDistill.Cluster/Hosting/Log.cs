using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster;

internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Warning, "refused a logits frame from '{Sender}' to '{Receiver}' at step {Step}: {Code}: {Reason}")]
    public static partial void FrameRefused(ILogger logger, string sender, string receiver, long step, StatusCode code, string reason);

    [LoggerMessage(101, LogLevel.Warning, "peer '{Peer}' stepped at step {Step} without {Missing} live teacher(s) after waiting {Seconds} s")]
    public static partial void SteppedWithout(ILogger logger, string peer, long step, int missing, double seconds);

    [LoggerMessage(105, LogLevel.Warning, "peer '{Peer}' stepped at step {Step} without '{Teacher}', whose logits of that step were sent but did not arrive within {Seconds} s")]
    public static partial void SteppedWithoutLost(ILogger logger, string peer, long step, string teacher, double seconds);

    [LoggerMessage(106, LogLevel.Warning, "peer '{Peer}' has waited {Seconds:0} s at step {Step} for the logits of {Teachers}")]
    public static partial void StillWaiting(ILogger logger, string peer, long step, double seconds, string teachers);

    [LoggerMessage(102, LogLevel.Information, "exchange link {Sender} -> {Receiver} ({Address}) failed: {Message}; reconnecting")]
    public static partial void LinkFailed(ILogger logger, string sender, string receiver, string address, string message);

    [LoggerMessage(103, LogLevel.Warning, "'{Receiver}' refused a frame of '{Sender}' at step {Step}: {Code}: {Reason}")]
    public static partial void RemoteRefused(ILogger logger, string sender, string receiver, long step, StatusCode code, string reason);

    [LoggerMessage(110, LogLevel.Information, "stopping peer '{Peer}' generation {Generation}: {Reason}")]
    public static partial void PeerStopping(ILogger logger, string peer, ulong generation, string reason);

    [LoggerMessage(111, LogLevel.Information, "peer '{Peer}' generation {Generation} ended: {Status} after {Steps} steps")]
    public static partial void PeerEnded(ILogger logger, string peer, ulong generation, string status, long steps);

    [LoggerMessage(112, LogLevel.Error, "peer '{Peer}' generation {Generation} failed")]
    public static partial void PeerFailed(ILogger logger, string peer, ulong generation, Exception exception);

    [LoggerMessage(115, LogLevel.Information, "starting peer '{Peer}' of cohort '{Cohort}' run '{Run}', generation {Generation}, slot {Slot}{Resume}")]
    public static partial void Starting(ILogger logger, string peer, string cohort, string run, ulong generation, int slot, string resume);

    [LoggerMessage(116, LogLevel.Warning, "not starting peer '{Peer}' of cohort '{Cohort}': {Reason}")]
    public static partial void StartRefused(ILogger logger, string peer, string cohort, string reason);

    [LoggerMessage(119, LogLevel.Warning, "some peers did not stop within {Seconds} s")]
    public static partial void StopSlow(ILogger logger, double seconds);

    [LoggerMessage(104, LogLevel.Debug, "refused a logits frame from '{Sender}' to '{Receiver}' at step {Step}: {Reason}")]
    public static partial void FrameOutsideWindow(ILogger logger, string sender, string receiver, long step, string reason);
}
