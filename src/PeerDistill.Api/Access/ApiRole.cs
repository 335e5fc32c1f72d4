namespace PeerDistill.Api.Access;

/// <summary>What a credential may do; each role may do everything the roles below it may.</summary>
public enum ApiRole
{
    /// <summary>Get, list and watch runs, read their metrics and checkpoints.</summary>
    Reader = 1,

    /// <summary>Also submit, cancel, pause, resume, change and delete runs.</summary>
    Operator = 2,

    /// <summary>Also manage tokens, list the workers and read the audit trail.</summary>
    Admin = 3,
}

/// <summary>The names of the roles, as tokens, JWT claims, the CLI and the API spell them.</summary>
public static class ApiRoles
{
    public const string Reader = "reader";
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>Every role's name, lowest first.</summary>
    public static IReadOnlyList<string> Names { get; } = [Reader, Operator, Admin];

    public static string Name(ApiRole role) => role switch
    {
        ApiRole.Reader => Reader,
        ApiRole.Operator => Operator,
        ApiRole.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
    };

    /// <summary>The role named <paramref name="name"/> (exactly, lower case), or null.</summary>
    public static ApiRole? Parse(string? name) => name switch
    {
        Reader => ApiRole.Reader,
        Operator => ApiRole.Operator,
        Admin => ApiRole.Admin,
        _ => null,
    };
}
