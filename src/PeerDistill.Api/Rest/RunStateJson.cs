using System.Text.Json.Serialization;

namespace PeerDistill.Api.Rest;

/// <summary>Where a run stands, as a JSON string.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunStateJson>))]
public enum RunStateJson
{
    /// <summary>Accepted; waiting for its peers to be placed.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Its peers train.</summary>
    [JsonStringEnumMemberName("running")]
    Running,

    /// <summary>Every peer completed.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>A peer failed beyond recovery.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Cancelled on request.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,

    /// <summary>Paused on request: every peer stopped at one step with a checkpoint and released its slot.</summary>
    [JsonStringEnumMemberName("paused")]
    Paused,
}
