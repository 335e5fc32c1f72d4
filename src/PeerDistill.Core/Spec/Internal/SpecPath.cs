namespace PeerDistill.Core.Spec.Internal;

/// <summary>Field paths as messages show them: <c>peers[1].optimizer.lr</c>.</summary>
internal static class SpecPath
{
    public static string Field(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

    public static string Index(string parent, int index) => $"{parent}[{index}]";
}
