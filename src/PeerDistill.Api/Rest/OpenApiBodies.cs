using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace PeerDistill.Api.Rest;

/// <summary>
/// Request bodies in the OpenAPI document for handlers that read their bodies themselves (to check the
/// media type and the size with their own errors): described here, not through accepts-metadata, which
/// would let routing refuse a wrong media type with a bare 415 before the handler could say why.
/// </summary>
internal static class OpenApiBodies
{
    /// <summary>A cohort spec as text in each of <paramref name="mediaTypes"/>.</summary>
    public static Task SpecAsync(OpenApiOperation operation, IEnumerable<string> mediaTypes)
    {
        var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
        foreach (var mediaType in mediaTypes)
        {
            content[mediaType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The cohort spec, as the YAML or JSON cohort file (see `peerdistill schema`)." } };
        }

        operation.RequestBody = new OpenApiRequestBody { Required = true, Description = "The cohort spec.", Content = content };
        return Task.CompletedTask;
    }

    /// <summary>A change of a running cohort as text (YAML or JSON) in each of <paramref name="mediaTypes"/>.</summary>
    public static Task ChangeAsync(OpenApiOperation operation, IEnumerable<string> mediaTypes)
    {
        var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
        foreach (var mediaType in mediaTypes)
        {
            content[mediaType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.Object, Description = "Fields of an entry of the spec's `changes`, without `step`: distillation.alpha, distillation.alpha_warmup_steps, distillation.temperature, lr_scale, evaluation.every_steps, evaluation.at_epoch_end, checkpoints.every_steps." } };
        }

        operation.RequestBody = new OpenApiRequestBody { Required = true, Description = "The change.", Content = content };
        return Task.CompletedTask;
    }

    /// <summary>A JSON body of type <typeparamref name="T"/>.</summary>
    public static async Task JsonAsync<T>(OpenApiOperation operation, OpenApiOperationTransformerContext context, bool required, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken).ConfigureAwait(false);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = required,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = new OpenApiMediaType { Schema = schema } },
        };
    }
}
