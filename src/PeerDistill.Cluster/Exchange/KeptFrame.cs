using System.Diagnostics;

namespace PeerDistill.Cluster.Exchange;

/// <summary>A teacher's checked logits of one step as an inbox keeps them, with the context of the teacher's publish span (default when that step was not traced).</summary>
internal readonly record struct KeptFrame(float[] Values, ActivityContext Origin);
