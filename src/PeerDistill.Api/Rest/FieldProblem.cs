namespace PeerDistill.Api.Rest;

/// <summary>One thing wrong with a request, as listed in a problem's <c>errors</c>.</summary>
/// <param name="Path">The field's path (<c>peers[1].model</c>); empty for the request as a whole.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Line">The line of the spec it is on (1-based); null where not a spec's field.</param>
/// <param name="Column">The column (1-based); null where not a spec's field.</param>
public sealed record FieldProblem(string Path, string Message, int? Line, int? Column);
