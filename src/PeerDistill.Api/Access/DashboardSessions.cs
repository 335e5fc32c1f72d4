using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Access;

/// <summary>
/// Sessions of the Orleans dashboard, which the coordinator serves under <see cref="Path"/>. A browser
/// that navigates there cannot send a bearer header, so the live view (which holds the caller's token)
/// opens a session with <c>POST /ui/session</c> and its bearer token, and the answer sets a cookie
/// (<see cref="CookieName"/>: 256 random bits; HttpOnly, SameSite=Strict, Path=/orleans, Secure over
/// TLS) that names the session. <see cref="TokenAuthenticationHandler"/> accepts that cookie for GET
/// requests under <see cref="Path"/> and for nothing else (<see cref="Accepts"/>): never for the API,
/// never for a write. The sessions live in the coordinator's memory, keyed by a SHA-256 of the cookie
/// (neither the cookie nor a token is kept): a restart ends them all, as does <see cref="Lifetime"/>, a
/// revoked or expired token, and <c>DELETE /ui/session</c>.
/// </summary>
public sealed partial class DashboardSessions(TimeProvider time, ILogger<DashboardSessions> logger)
{
    /// <summary>The cookie that names a session.</summary>
    public const string CookieName = "peerdistill_dashboard";

    /// <summary>Where the Orleans dashboard is served, and the only path the cookie is sent to and accepted for.</summary>
    public const string Path = "/orleans";

    /// <summary>How long a session lasts at most (a JWT's expiry ends it sooner); the live view opens a new one on every load.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    /// <summary>Open sessions at most, over every credential: beyond, opening one answers 503.</summary>
    public const int MaxSessions = 10_000;

    /// <summary>Open sessions of one credential at most: its oldest ends when it opens one more.</summary>
    public const int MaxPerCredential = 8;

    /// <summary>The longest cookie value read (a session's is 43 characters).</summary>
    private const int MaxCookieLength = 64;

    private readonly ConcurrentDictionary<string, DashboardSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Whether a request may authenticate with the session cookie: a GET under <see cref="Path"/>.</summary>
    public static bool Accepts(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return HttpMethods.IsGet(request.Method) && request.Path.StartsWithSegments(Path);
    }

    /// <summary>
    /// Opens a session for <paramref name="user"/> (authenticated by its bearer credential), to end at
    /// <see cref="Lifetime"/> from now or at <paramref name="credentialExpires"/> if sooner; returns
    /// the cookie's value and when the session ends.
    /// </summary>
    /// <exception cref="CohortApiException">Too many sessions are open (Unavailable).</exception>
    public (string Cookie, DateTimeOffset Expires) Open(ClaimsPrincipal user, DateTimeOffset? credentialExpires, string? address)
    {
        ArgumentNullException.ThrowIfNull(user);
        var credential = user.FindFirst(AccessClaims.Credential)?.Value
            ?? throw new InvalidOperationException("a dashboard session needs an authenticated caller with a credential claim");
        var tokenId = credential.StartsWith(TokenPrefix, StringComparison.Ordinal) ? credential[TokenPrefix.Length..] : null;
        var now = time.GetUtcNow();
        var expires = now + Lifetime;
        if (credentialExpires is { } limit && limit < expires)
        {
            expires = limit;
        }

        var cookie = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var name = user.FindFirst(AccessClaims.Name)?.Value ?? "unnamed";
        lock (_gate)
        {
            foreach (var (key, session) in _sessions)
            {
                if (session.Expires <= now)
                {
                    _sessions.TryRemove(key, out _);
                }
            }

            var own = _sessions.Where(s => s.Value.Credential == credential).OrderBy(s => s.Value.Opened).ToList();
            for (var i = 0; i <= own.Count - MaxPerCredential; i++)
            {
                _sessions.TryRemove(own[i].Key, out _);
            }

            if (_sessions.Count >= MaxSessions)
            {
                throw new CohortApiException(ApiError.Unavailable, $"OpenDashboardSession: {MaxSessions} dashboard sessions are open; try again later");
            }

            _sessions[Key(cookie)] = new DashboardSession(credential, tokenId, user, now, expires);
        }

        LogOpened(logger, name, address ?? "unknown", expires);
        return (cookie, expires);
    }

    /// <summary>The open session the cookie value names, or null (unknown, ended, or not a session's cookie).</summary>
    public DashboardSession? Find(string cookie)
    {
        if (string.IsNullOrEmpty(cookie) || cookie.Length > MaxCookieLength)
        {
            return null;
        }

        var key = Key(cookie);
        if (!_sessions.TryGetValue(key, out var session))
        {
            return null;
        }

        if (session.Expires <= time.GetUtcNow())
        {
            _sessions.TryRemove(key, out _);
            return null;
        }

        return session;
    }

    /// <summary>Ends the session the cookie value names, if it is open.</summary>
    public void End(string cookie)
    {
        if (!string.IsNullOrEmpty(cookie) && cookie.Length <= MaxCookieLength)
        {
            _sessions.TryRemove(Key(cookie), out _);
        }
    }

    /// <summary>Ends every session <paramref name="user"/>'s credential opened; how many there were.</summary>
    public int EndAll(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var credential = user.FindFirst(AccessClaims.Credential)?.Value;
        var ended = 0;
        foreach (var (key, session) in _sessions)
        {
            if (session.Credential == credential && _sessions.TryRemove(key, out _))
            {
                ended++;
            }
        }

        LogEnded(logger, user.FindFirst(AccessClaims.Name)?.Value ?? "unnamed", ended);
        return ended;
    }

    private const string TokenPrefix = "token:";

    private static string Key(string cookie) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(cookie)));
}
