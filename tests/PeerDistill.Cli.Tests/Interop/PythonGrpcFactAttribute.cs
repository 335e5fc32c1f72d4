using Xunit;

namespace PeerDistill.Cli.Tests.Interop;

/// <summary>A fact that is reported Skipped, with the reason, where python3-grpcio (or grpc_tools) is absent.</summary>
public sealed class PythonGrpcFactAttribute : FactAttribute
{
    public PythonGrpcFactAttribute()
    {
        if (PythonGrpc.WhyUnavailable is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that is reported Skipped, with the reason, where python3-grpcio (or grpc_tools) is absent.</summary>
public sealed class PythonGrpcTheoryAttribute : TheoryAttribute
{
    public PythonGrpcTheoryAttribute()
    {
        if (PythonGrpc.WhyUnavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
