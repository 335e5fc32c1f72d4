namespace PeerDistill.Api.Rest;

/// <summary>A REST request refused before it reached the API (its body, headers or query), as a problem with its status.</summary>
internal sealed class RestProblem(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    /// <summary>Each field that was wrong, when there are several (a problem's <c>errors</c>).</summary>
    public IReadOnlyList<FieldProblem> Errors { get; init; } = [];
}
