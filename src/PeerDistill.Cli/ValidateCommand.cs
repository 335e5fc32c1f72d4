using System.CommandLine;

namespace PeerDistill.Cli;

/// <summary>`peerdistill validate spec.yaml [more.yaml ...]`: every problem of each spec, one per line, exit code 2 if any spec has one.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var specs = new Argument<string[]>("spec") { Description = "Cohort specs (YAML or JSON), one or more.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("validate", "Check cohort specs and list every problem with its field path and line.") { specs };
        command.SetAction(parse =>
        {
            var invalid = 0;
            foreach (var path in parse.GetValue(specs)!)
            {
                var loaded = SpecFile.Load(path, Console.Error);
                if (loaded is null)
                {
                    invalid++;
                    continue;
                }

                Console.WriteLine($"{path}: valid cohort '{loaded.Cohort}' of {loaded.Peers.Count} peer(s): {string.Join(", ", loaded.Peers.Select(p => $"{p.Name} ({Path.GetFileName(p.Model)})"))}; strategy {loaded.Distillation.Strategy}");
            }

            return invalid == 0 ? ExitCodes.Ok : ExitCodes.InvalidInput;
        });
        return command;
    }
}
