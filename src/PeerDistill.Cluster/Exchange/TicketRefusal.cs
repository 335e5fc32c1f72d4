namespace PeerDistill.Cluster.Exchange;

/// <summary>Why a PeerExchange call or frame was refused for its ticket (each counted apart in <see cref="ExchangeRefusals"/>).</summary>
public enum TicketRefusal
{
    /// <summary>The call carries no ticket (UNAUTHENTICATED).</summary>
    Missing,

    /// <summary>The ticket is not one: too long, not base64url, truncated, trailing bytes, an unknown version, more than one header (UNAUTHENTICATED).</summary>
    Malformed,

    /// <summary>The ticket's signature is not the cluster key's over its contents: forged or altered (UNAUTHENTICATED).</summary>
    BadSignature,

    /// <summary>The ticket's expiry has passed (UNAUTHENTICATED).</summary>
    Expired,

    /// <summary>A valid ticket of another cohort or run than the frames it carries (PERMISSION_DENIED).</summary>
    OtherCohort,

    /// <summary>A valid ticket of a generation of the sender older than the one its cohort runs now (FAILED_PRECONDITION).</summary>
    OlderGeneration,

    /// <summary>A frame whose sender or generation differs from its stream's ticket (PERMISSION_DENIED; the stream ends).</summary>
    FrameMismatch,

    /// <summary>This worker has not got the cluster's key yet (it hosts no peer yet): UNAVAILABLE, try again.</summary>
    NoKey,
}
