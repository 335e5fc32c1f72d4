namespace PeerDistill.Api.Access;

/// <summary>
/// A coordinator's first start: when its database holds no API token at all, it makes an admin token
/// named <see cref="Name"/>, writes it to a file in its data directory readable by its owner only, and
/// hands it to the caller to print once. Later starts make none (revoked tokens count: a coordinator
/// whose tokens were all revoked does not mint a new admin by itself).
/// </summary>
public sealed class AdminTokenBootstrap(TokenStore tokens, AccessOptions options)
{
    /// <summary>The first admin token's name.</summary>
    public const string Name = "admin";

    /// <summary>The admin token made now (to print once), or null when the database had tokens; and the token file's path.</summary>
    public async Task<(string? Token, string File)> EnsureAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var file = Path.Combine(dataDirectory, options.AdminTokenFile);
        if (await tokens.AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, file);
        }

        string token;
        try
        {
            (_, token) = await tokens.CreateAsync(new NewApiToken(Name, ApiRole.Admin, null, null), "coordinator (first start)", cancellationToken).ConfigureAwait(false);
        }
        catch (CohortApiException e) when (e.Error == ApiError.AlreadyExists)
        {
            // Another coordinator on the same database made it first.
            return (null, file);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var temporary = file + ".tmp-" + Environment.ProcessId;
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, OwnerOnly()))
        using (var writer = new StreamWriter(stream))
        {
            await writer.WriteLineAsync(token.AsMemory(), cancellationToken).ConfigureAwait(false);
        }

        File.Move(temporary, file, overwrite: true);
        return (token, file);
    }

    private static FileStreamOptions OwnerOnly()
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return options;
    }
}
