namespace PeerDistill.Api.Access;

/// <summary>
/// How the CLI finds the first admin token of a coordinator on its own machine: the coordinator leaves,
/// for each of its API ports, a file naming where its token file is, in the user's state directory
/// (<c>$XDG_STATE_HOME/peerdistill/coordinators/&lt;port&gt;</c>, or <c>~/.local/state/...</c>). The
/// pointer holds a path, never the token; the token file itself is readable by its owner only, so
/// the CLI of another user finds nothing it may read.
/// </summary>
public static class LocalCoordinators
{
    /// <summary>The directory of the pointers (per user).</summary>
    public static string Directory
    {
        get
        {
            var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(state))
            {
                state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            }

            return Path.Combine(state, "peerdistill", "coordinators");
        }
    }

    /// <summary>Says that the coordinator on <paramref name="ports"/> keeps its admin token in <paramref name="tokenFile"/> (null: it has none; the pointers are removed).</summary>
    /// <exception cref="IOException">The pointers could not be written.</exception>
    public static void Advertise(IEnumerable<int> ports, string? tokenFile)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var directory = Directory;
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        foreach (var port in ports)
        {
            var pointer = Path.Combine(directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (tokenFile is null)
            {
                File.Delete(pointer);
                continue;
            }

            var temporary = pointer + ".tmp-" + Environment.ProcessId;
            File.WriteAllText(temporary, Path.GetFullPath(tokenFile));
            File.Move(temporary, pointer, overwrite: true);
        }
    }

    /// <summary>The admin token of the coordinator on this machine's <paramref name="port"/>, when its pointer exists and its token file is readable; otherwise null.</summary>
    public static string? FindToken(int port)
    {
        try
        {
            var pointer = Path.Combine(Directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!File.Exists(pointer))
            {
                return null;
            }

            var tokenFile = File.ReadAllText(pointer).Trim();
            if (tokenFile.Length == 0 || !File.Exists(tokenFile))
            {
                return null;
            }

            var token = File.ReadAllText(tokenFile).Trim();
            return ApiTokenFormat.Parse(token) is null ? null : token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
