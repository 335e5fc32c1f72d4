using System.Text.Json.Serialization;

namespace PeerDistill.Api.Rest;

/// <summary>The REST API's JSON (snake_case names, enums as lower-case strings), generated at build time (the CLI is published trimmed).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(RunResource))]
[JsonSerializable(typeof(RunPage))]
[JsonSerializable(typeof(SteerResource))]
[JsonSerializable(typeof(MetricsResource))]
[JsonSerializable(typeof(WorkerList))]
[JsonSerializable(typeof(CheckpointList))]
[JsonSerializable(typeof(CancelRequest))]
[JsonSerializable(typeof(HealthResource))]
[JsonSerializable(typeof(VersionResource))]
[JsonSerializable(typeof(List<FieldProblem>))]
[JsonSerializable(typeof(TokenList))]
[JsonSerializable(typeof(TokenResource))]
[JsonSerializable(typeof(NewTokenResource))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(AuditPage))]
// The checkpoint download's OpenAPI response type (the document's schema for it): without it the trimmed
// publish, where reflection-based JSON is off, answers the OpenAPI document with 500.
[JsonSerializable(typeof(byte[]))]
internal sealed partial class RestJsonContext : JsonSerializerContext;
