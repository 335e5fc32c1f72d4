using System.CommandLine;
using PeerDistill.Core.Spec;

namespace PeerDistill.Cli;

/// <summary>`peerdistill schema`: the JSON Schema of cohort specs, for editors.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var command = new Command("schema", "Print the JSON Schema of cohort specs (for editor completion and checks).");
        command.SetAction(_ =>
        {
            Console.WriteLine(SpecSchema.ToJsonSchema());
            return ExitCodes.Ok;
        });
        return command;
    }
}
