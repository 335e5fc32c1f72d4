using Xunit;

namespace PeerDistill.Cli.Tests.Browser;

/// <summary>A fact reported Skipped, with the reason, where Debian's Chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(HeadlessChromium.Executable))
        {
            Skip = $"Chromium not found at {HeadlessChromium.Executable} (apt-get install chromium; ./build.sh setup installs it with the other test packages)";
        }
    }
}
