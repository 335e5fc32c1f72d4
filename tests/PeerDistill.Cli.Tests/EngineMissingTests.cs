using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// The program without its native engine (a published binary copied without the shim, or a shim
/// that does not load): the commands that need the engine end with one line naming the file and
/// what is wrong, exit code 1, no stack trace; those that do not need it still work.
/// </summary>
public sealed class EngineMissingTests
{
    private const string Shim = "libpeerdistill_native.so";

    [Fact]
    public void WithoutTheShim_EngineCommandsSayWhatIsMissing_OthersWork()
    {
        using var copy = new TempDirectory("peerdistill-noengine-");
        var dll = CopyProgram(copy.Path);
        var expected = Path.Combine(copy.Path, Shim);

        foreach (var args in new[] { new[] { "validate", Path.Combine(CliProcess.Examples, "smoke.yaml") }, ["info"], ["run", Path.Combine(CliProcess.Examples, "smoke.yaml")], ["train", "--dataset", "synthetic", "--epochs", "1"] })
        {
            var (code, stdout, stderr) = CliProcess.RunDll(dll, copy.Path, args);
            Assert.True(code == 1, $"peerdistill {args[0]} exited {code}; stderr: {stderr}");
            Assert.Contains($"the native engine {Shim} is not next to the program ({expected})", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", stderr + stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }

        foreach (var args in new[] { new[] { "schema" }, ["coordinator", "--help"], ["train", "--help"], ["worker", "--help"] })
        {
            var (code, stdout, stderr) = CliProcess.RunDll(dll, copy.Path, args);
            Assert.True(code == 0, $"peerdistill {string.Join(' ', args)} exited {code} without the engine; stderr: {stderr}");
            Assert.NotEmpty(stdout);
        }
    }

    [Fact]
    public void WithAShimThatDoesNotLoad_TheErrorNamesItAndTheLoadersReason()
    {
        using var copy = new TempDirectory("peerdistill-badengine-");
        var dll = CopyProgram(copy.Path);
        var shim = Path.Combine(copy.Path, Shim);
        File.WriteAllText(shim, string.Concat(Enumerable.Repeat("not a shared library\n", 200)));

        var (code, stdout, stderr) = CliProcess.RunDll(dll, copy.Path, "validate", Path.Combine(CliProcess.Examples, "smoke.yaml"));

        Assert.Equal(1, code);
        Assert.Contains($"the native engine {shim} could not be loaded: ", stderr, StringComparison.Ordinal);
        Assert.Contains("invalid ELF header", stderr, StringComparison.Ordinal); // the loader's reason
        Assert.DoesNotContain("Exception", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void WithALibraryThatIsNotTheShim_TheErrorSaysItIsFromAnotherBuild()
    {
        using var copy = new TempDirectory("peerdistill-otherengine-");
        var dll = CopyProgram(copy.Path);
        var shim = Path.Combine(copy.Path, Shim);
        File.Copy("/usr/lib/x86_64-linux-gnu/libz.so.1", shim); // a real shared library without the shim's functions (zlib, required by Debian)

        var (code, stdout, stderr) = CliProcess.RunDll(dll, copy.Path, "info");

        Assert.Equal(1, code);
        Assert.Contains($"the native engine {shim} is from another version of PeerDistill", stderr, StringComparison.Ordinal);
        Assert.Contains("pd_runtime_init", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    // The program's files from the test's output folder, without the shim.
    private static string CopyProgram(string into)
    {
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory))
        {
            var name = Path.GetFileName(file);
            if (name != Shim)
            {
                File.Copy(file, Path.Combine(into, name));
            }
        }

        return Path.Combine(into, "peerdistill.dll");
    }
}
