namespace PeerDistill.Rpc.Internal;

/// <summary>What call objects expose of the call behind them.</summary>
internal interface ICallState : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }

    Status GetStatus();

    Metadata GetTrailers();
}
