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

        if (options.AdminTokenFromFile is { } given)
        {
            // The deployment's token: kept as the admin token, neither printed nor written anywhere.
            try
            {
                await tokens.CreateAsync(new NewApiToken(Name, ApiRole.Admin, null, null), $"coordinator (first start, from {given})", ReadGiven(given), cancellationToken).ConfigureAwait(false);
            }
            catch (CohortApiException e) when (e.Error == ApiError.AlreadyExists)
            {
                // Another coordinator on the same database made it first.
            }

            return (null, Path.GetFullPath(given));
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

    /// <summary>The token in <paramref name="path"/> (one line; surrounding white space ignored); an error naming the file, never its content.</summary>
    private static (string Id, string Token, string Salt, string Hash) ReadGiven(string path)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > 4096)
            {
                throw new InvalidDataException($"Access:AdminTokenFromFile: {path} holds {info.Length} bytes; a token file holds one token (pd_..., {ApiTokenFormat.Length} characters)");
            }

            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Access:AdminTokenFromFile: {path} cannot be read ({e.Message})", e);
        }

        return ApiTokenFormat.Of(text)
            ?? throw new InvalidDataException($"Access:AdminTokenFromFile: {path} does not hold an API token (pd_ then 16 hex digits, a dot and 43 base64url characters; `peerdistill tokens mint` writes one)");
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
