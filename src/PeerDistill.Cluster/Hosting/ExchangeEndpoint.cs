namespace PeerDistill.Cluster.Hosting;

/// <summary>The address other silos reach this silo's PeerExchange at (<c>http://host:port</c>).</summary>
public sealed record ExchangeEndpoint(string Address);
