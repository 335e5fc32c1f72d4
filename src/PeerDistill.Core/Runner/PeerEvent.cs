namespace PeerDistill.Core.Runner;

/// <summary>Something that happened to a peer: started, resumed, checkpointed, stopped, failed, finished.</summary>
public sealed record PeerEvent(string Run, string Peer, long Step, string Kind, string Message);
