using System.CommandLine;

namespace PeerDistill.Cli;

/// <summary>`peerdistill validate spec.yaml`: every problem of a spec, one per line, exit code 2 if any.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "Cohort spec (YAML or JSON)." };
        var command = new Command("validate", "Check a cohort spec and list every problem with its field path and line.") { spec };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(spec)!;
            var loaded = SpecFile.Load(path, Console.Error);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            Console.WriteLine($"{path}: valid cohort '{loaded.Cohort}' of {loaded.Peers.Count} peer(s): {string.Join(", ", loaded.Peers.Select(p => $"{p.Name} ({Path.GetFileName(p.Model)})"))}; strategy {loaded.Distillation.Strategy}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
