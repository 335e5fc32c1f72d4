namespace PeerDistill.Api.Rest;

/// <summary>A change of a running cohort, applied by every peer at one step.</summary>
/// <param name="Step">The step every peer applies it at (the start of that step).</param>
/// <param name="Set">Each field it sets, by its spec path (<c>distillation.alpha</c>), to the value it takes.</param>
public sealed record ChangeResource(long Step, IReadOnlyDictionary<string, string> Set);
