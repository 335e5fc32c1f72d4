using Xunit;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>A fact reported Skipped, with the reason, where the real Helm binary is absent.</summary>
public sealed class HelmFactAttribute : FactAttribute
{
    public HelmFactAttribute()
    {
        Skip = DeployTools.HelmUnavailable ?? DeployTools.PythonYamlUnavailable;
    }
}

/// <summary>A fact reported Skipped, with the reason, where Debian's docker-compose is absent.</summary>
public sealed class ComposeFactAttribute : FactAttribute
{
    public ComposeFactAttribute()
    {
        Skip = DeployTools.ComposeUnavailable;
    }
}
