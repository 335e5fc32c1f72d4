using System.Text.Json.Serialization;

namespace PeerDistill.Api.Rest;

/// <summary>Where a peer stands, as a JSON string.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PeerStateJson>))]
public enum PeerStateJson
{
    /// <summary>Waiting for its first slot.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Training.</summary>
    [JsonStringEnumMemberName("active")]
    Active,

    /// <summary>Its generation was lost; the next one waits for a slot or restores its checkpoint.</summary>
    [JsonStringEnumMemberName("recovering")]
    Recovering,

    /// <summary>Placed and live, but waiting for its teachers at one step for a long time.</summary>
    [JsonStringEnumMemberName("stalled")]
    Stalled,

    /// <summary>Finished all its steps.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>Stopped by an error it could not recover from.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Stopped on request before it finished.</summary>
    [JsonStringEnumMemberName("interrupted")]
    Interrupted,

    /// <summary>Stopped at the run's pause step with a checkpoint; placed again on resume.</summary>
    [JsonStringEnumMemberName("paused")]
    Paused,
}
