using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Transport;
using Scalar.AspNetCore;

namespace PeerDistill.Api.Rest;

/// <summary>The REST API of the coordinator: its listener, JSON, problems, the OpenAPI document and the reference page.</summary>
internal static class RestHosting
{
    /// <summary>Where the OpenAPI 3.1 document is served.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    /// <summary>Where the browsable API reference is served (assets from the Scalar package, no network).</summary>
    public const string ReferencePath = "/scalar";

    public static IHostApplicationBuilder AddPeerDistillRest(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<ServerListeners>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, RestListenerSetup>());
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, RestJsonContext.Default));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi("v1", o =>
        {
            o.OpenApiVersion = Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_1;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "PeerDistill cohort API";
                document.Info.Version = "v1";
                document.Info.Description = "Submit, list, watch and steer cohort runs of PeerDistill's coordinator. The same operations are served over gRPC (peerdistill.v1.CohortService) on the coordinator's gRPC port.";
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static WebApplication MapPeerDistillRest(this WebApplication app)
    {
        // Any route or method the API does not serve answers a problem too (404, 405).
        app.UseStatusCodePages();
        app.MapRunEndpoints();
        app.MapMetricsEndpoints();
        app.MapCheckpointEndpoints();
        app.MapServiceEndpoints();
        app.MapAccessEndpoints();
        app.MapOpenApi(OpenApiPath);
        app.MapScalarApiReference(ReferencePath, o => o.WithOpenApiRoutePattern(OpenApiPath).WithTitle("PeerDistill cohort API"));
        return app;
    }
}
