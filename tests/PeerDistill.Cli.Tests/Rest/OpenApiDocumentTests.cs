using System.Text.Json;
using Xunit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PeerDistill.Api;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>The OpenAPI document of a running coordinator against the routes it actually serves.</summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("peerdistill-openapi-");
    private CoordinatorNode? _coordinator;

    public async Task InitializeAsync()
    {
        var builder = PeerDistill.Cluster.Transport.GrpcHosting.CreateBuilder();
        builder.AddPeerDistillCoordinator(o =>
        {
            o.Port = 0;
            o.HttpPort = 0;
            o.ClusterPort = 0;
            o.Output = _dir.FullName;
            o.DataDirectory = Path.Combine(_dir.FullName, "data");
        });
        var app = builder.Build();
        app.MapPeerDistillCoordinator();
        _coordinator = new CoordinatorNode(app);
        await _coordinator.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_coordinator is not null)
        {
            await _coordinator.DisposeAsync();
        }

        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Document_ListsEveryServedRoute_AndServesEveryDocumentedOne_WithSchemas()
    {
        using var http = new HttpClient { BaseAddress = _coordinator!.HttpAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _coordinator.FirstAdminToken);
        using var document = JsonDocument.Parse(await http.GetStringAsync("openapi/v1.json"));
        var root = document.RootElement;
        Assert.StartsWith("3.1", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);

        var documented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                documented.Add(operation.Name.ToUpperInvariant() + " " + path.Name);
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                Assert.True(responses.Count > 0, $"{operation.Name} {path.Name} documents no response");
                // Every answer with a body documents its schema (204 and 304 have none).
                foreach (var response in responses.Where(r => (r.Name.StartsWith('2') || r.Name.StartsWith('4') || r.Name.StartsWith('5')) && r.Name != "204"))
                {
                    Assert.True(
                        response.Value.TryGetProperty("content", out var content) && content.EnumerateObject().All(c => c.Value.TryGetProperty("schema", out _)),
                        $"{operation.Name} {path.Name} response {response.Name} has no schema");
                }

                if (operation.Name == "post" && operation.Value.TryGetProperty("operationId", out var id) && id.GetString() == "SubmitRun")
                {
                    var content = operation.Value.GetProperty("requestBody").GetProperty("content");
                    Assert.True(content.TryGetProperty("application/yaml", out _) && content.TryGetProperty("application/json", out _), "SubmitRun documents its spec body in YAML and JSON");
                }
            }
        }

        var served = _coordinator.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.TrimStart('/').StartsWith("api/", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => m + " /" + e.RoutePattern.RawText!.Trim('/')))
            .ToHashSet(StringComparer.Ordinal);
        var documentedNormalized = documented.Select(d => d.TrimEnd('/')).ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(served);
        Assert.Empty(served.Except(documentedNormalized));
        Assert.Empty(documentedNormalized.Except(served));
    }
}
