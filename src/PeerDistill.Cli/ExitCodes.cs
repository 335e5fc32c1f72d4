namespace PeerDistill.Cli;

/// <summary>Process exit codes of the peerdistill command.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The run failed (engine error, I/O error).</summary>
    public const int Failed = 1;

    /// <summary>The input was invalid (bad option, bad spec); nothing ran.</summary>
    public const int InvalidInput = 2;

    /// <summary>The coordinator refused the request in the run's state (resume a running run, act on a stale version).</summary>
    public const int Refused = 3;

    /// <summary>The coordinator refused the credentials: none, a wrong, expired or revoked token, or a role or project that does not allow the call.</summary>
    public const int Denied = 4;

    /// <summary>Stopped by Ctrl-C after saving state.</summary>
    public const int Interrupted = 130;
}
