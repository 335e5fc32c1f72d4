using System.Text.Json;
using Microsoft.Data.Sqlite;
using PeerDistill.Cluster.Exchange;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Exchange tickets as the cluster signs them, for tests that act as the operator: the cluster's key
/// read from where the cluster keeps it (the ticket key grain's state in the coordinator's SQLite file).
/// </summary>
internal static class ClusterTickets
{
    /// <summary>
    /// The key in the coordinator's database under <paramref name="dataDirectory"/>; waits (at most
    /// <paramref name="timeout"/>) for the cluster to have made it (at its first placement).
    /// </summary>
    public static async Task<byte[]> ReadKeyAsync(string dataDirectory, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "peerdistill.db")};Mode=ReadOnly"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT PayloadBinary FROM OrleansStorage WHERE GrainTypeString = 'ticket-key' AND PayloadBinary IS NOT NULL";
                if (await command.ExecuteScalarAsync() is byte[] payload)
                {
                    // Orleans' JSON grain storage: {"Key": {"$type": "System.Byte[], ...", "$value": "<base64>"}}.
                    using var json = JsonDocument.Parse(payload);
                    return json.RootElement.GetProperty("Key").GetProperty("$value").GetBytesFromBase64();
                }
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the cluster's ticket key is not in {dataDirectory} after {timeout.TotalSeconds} s");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>A ticket of that generation of the peer, valid for the usual lifetime, or expiring at <paramref name="expires"/>.</summary>
    public static string Issue(this TicketCodec codec, string cohort, string run, string peer, ulong generation, DateTimeOffset? expires = null) =>
        codec.Issue(expires is { } at
            ? new ExchangeTicket(cohort, run, peer, generation, at.ToUnixTimeMilliseconds())
            : ExchangeTicket.For(cohort, run, peer, generation, DateTimeOffset.UtcNow));
}
