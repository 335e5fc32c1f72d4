using PeerDistill.Core.Spec;

namespace PeerDistill.Cli;

/// <summary>Loads a spec for a command, printing one line per problem when it is invalid.</summary>
internal static class SpecFile
{
    public static CohortSpec? Load(string path, TextWriter error)
    {
        if (!File.Exists(path))
        {
            error.WriteLine($"error: spec file '{path}' not found");
            return null;
        }

        var result = SpecLoader.Load(path);
        if (!result.IsValid)
        {
            foreach (var e in result.Errors)
            {
                error.WriteLine(e.ToString());
            }

            error.WriteLine($"{result.Errors.Count} problem(s) in {path}");
            return null;
        }

        return result.Spec;
    }
}
