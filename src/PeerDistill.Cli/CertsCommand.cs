using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using PeerDistill.Cluster.Security;

namespace PeerDistill.Cli;

/// <summary>
/// `peerdistill certs init|issue`: the certificates of a cluster without a company PKI. `init` makes
/// the cluster's authority (ca.crt, ca.key) in a directory; `issue NAME` a node certificate it signs
/// (NAME.crt, NAME.key), for TLS between the cluster's processes. Keys are written readable by their
/// owner only; nothing is replaced without --force.
/// </summary>
internal static class CertsCommand
{
    /// <summary>The certificates directory unless told otherwise.</summary>
    public const string DefaultDirectory = "certs";

    public static Command Create()
    {
        var command = new Command("certs", "Make a cluster certificate authority and the node certificates it issues (mutual TLS between the cluster's processes).");
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Issue());
        return command;
    }

    private static Command Init()
    {
        var directory = DirectoryOption();
        var name = new Option<string>("--name") { Description = "The authority's common name.", DefaultValueFactory = _ => "PeerDistill cluster CA" };
        var days = new Option<int>("--days") { Description = $"Days it is valid (1 to {ClusterCertificates.MaxDays}).", DefaultValueFactory = _ => ClusterCertificates.DefaultAuthorityDays };
        var force = ForceOption();
        var command = new Command("init", $"Make the cluster's certificate authority: {ClusterCertificates.AuthorityCertificateFile} and {ClusterCertificates.AuthorityKeyFile} (owner-only) in the directory.") { directory, name, days, force };
        command.SetAction(parse => Guard("certs init", () =>
        {
            var dir = parse.GetValue(directory)!;
            RequireDays(parse.GetValue(days));
            using var authority = ClusterCertificates.CreateAuthority(parse.GetValue(name)!, parse.GetValue(days));
            var (certificate, key) = (Path.Combine(dir, ClusterCertificates.AuthorityCertificateFile), Path.Combine(dir, ClusterCertificates.AuthorityKeyFile));
            ClusterCertificates.Write(authority, certificate, key, parse.GetValue(force));
            Console.WriteLine($"wrote {Path.GetFullPath(certificate)} and {Path.GetFullPath(key)} (owner-only): the authority '{authority.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}', valid until {authority.NotAfter.ToUniversalTime():yyyy-MM-dd}; keep {ClusterCertificates.AuthorityKeyFile} off the nodes");
        }));
        return command;
    }

    private static Command Issue()
    {
        var directory = DirectoryOption();
        var nodeName = new Argument<string>("name") { Description = "The node's name: 1 to 64 letters, digits, '-', '_' or '.' (also its first DNS name and the files' names)." };
        var dns = new Option<string[]>("--dns") { Description = "Another DNS name the node is reached by (repeatable)." };
        var ip = new Option<string[]>("--ip") { Description = "An IP address the node is reached by (repeatable; 127.0.0.1 and ::1 are always included)." };
        var days = new Option<int>("--days") { Description = $"Days it is valid (1 to {ClusterCertificates.MaxDays}; never past the authority).", DefaultValueFactory = _ => ClusterCertificates.DefaultNodeDays };
        var force = ForceOption();
        var command = new Command("issue", "Issue a node certificate from the cluster's authority: NAME.crt and NAME.key (owner-only) in the directory.") { nodeName, directory, dns, ip, days, force };
        command.SetAction(parse => Guard("certs issue", () =>
        {
            var dir = parse.GetValue(directory)!;
            var name = parse.GetValue(nodeName)!;
            if (!ClusterCertificates.IsValidName(name) || name is "ca")
            {
                throw new ArgumentException($"'{name}' is not a node name: 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit, and not 'ca'");
            }

            RequireDays(parse.GetValue(days));
            var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
            foreach (var text in parse.GetValue(ip) ?? [])
            {
                addresses.Add(IPAddress.TryParse(text, out var address) ? address : throw new ArgumentException($"--ip '{text}' is not an IP address"));
            }

            var dnsNames = parse.GetValue(dns) ?? [];
            if (dnsNames.FirstOrDefault(d => Uri.CheckHostName(d) != UriHostNameType.Dns) is { } bad)
            {
                throw new ArgumentException($"--dns '{bad}' is not a DNS name");
            }

            using var authority = ClusterCertificates.Load(Path.Combine(dir, ClusterCertificates.AuthorityCertificateFile), Path.Combine(dir, ClusterCertificates.AuthorityKeyFile));
            using var node = ClusterCertificates.Issue(authority, name, ["localhost", .. dnsNames], addresses, parse.GetValue(days));
            var (certificate, key) = (Path.Combine(dir, name + ".crt"), Path.Combine(dir, name + ".key"));
            ClusterCertificates.Write(node, certificate, key, parse.GetValue(force));
            Console.WriteLine($"wrote {Path.GetFullPath(certificate)} and {Path.GetFullPath(key)} (owner-only): node '{name}' issued by the cluster's authority, valid until {node.NotAfter.ToUniversalTime():yyyy-MM-dd}");
        }));
        return command;
    }

    private static Option<string> DirectoryOption() => new("--dir") { Description = $"The certificates directory (default: {DefaultDirectory}).", DefaultValueFactory = _ => DefaultDirectory };

    private static Option<bool> ForceOption() => new("--force") { Description = "Replace files that exist." };

    private static void RequireDays(int days)
    {
        if (days is < 1 or > ClusterCertificates.MaxDays)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--days {days} is out of range (1 to {ClusterCertificates.MaxDays})"));
        }
    }

    private static int Guard(string what, Action action)
    {
        try
        {
            action();
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return ExitCodes.Refused;
        }
    }
}
