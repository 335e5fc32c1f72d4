namespace PeerDistill.Torch.Internal;

/// <summary>Turns the shim's status codes into typed exceptions.</summary>
internal static class NativeStatus
{
    internal static void Check(int status)
    {
        if (status != 0)
        {
            Throw(status);
        }
    }

    private static void Throw(int status)
    {
        var message = NativeMethods.TakeString(NativeMethods.TakeError());
        var kind = status switch
        {
            1 => TorchErrorKind.Torch,
            2 => TorchErrorKind.InvalidArgument,
            3 => TorchErrorKind.Io,
            4 => TorchErrorKind.DeviceUnavailable,
            5 => TorchErrorKind.NonFinite,
            6 => TorchErrorKind.Native,
            _ => TorchErrorKind.Unknown,
        };
        throw new TorchException(kind, string.IsNullOrEmpty(message) ? $"native error {status}" : message);
    }
}
