using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;

namespace PeerDistill.Api.Rest;

/// <summary>The service's own endpoints: health (the one endpoint open to every caller, for probes), version (readers) and workers (admins).</summary>
internal static class ServiceEndpoints
{
    /// <summary>How long the health check waits for the cluster to answer.</summary>
    public static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var service = endpoints.MapGroup(RunEndpoints.Prefix).WithTags("service");
        service.MapGet("/health", HealthAsync)
            .WithName("Health")
            .AllowAnonymous()
            .WithSummary("Whether the API and the cluster answer (200 serving, 503 unavailable)")
            .Produces<HealthResource>(StatusCodes.Status200OK)
            .Produces<HealthResource>(StatusCodes.Status503ServiceUnavailable);
        service.MapGet("/workers", WorkersAsync)
            .WithName("ListWorkers")
            .RequireAuthorization(AccessPolicies.Admin)
            .WithSummary("The worker silos of the cluster: their slots and devices, and the peer in each")
            .Produces<WorkerList>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        service.MapGet("/version", () => TypedResults.Json(Version(), RestJsonContext.Default.VersionResource))
            .WithName("Version")
            .WithSummary("What the coordinator runs")
            .Produces<VersionResource>(StatusCodes.Status200OK);
        return endpoints;
    }

    /// <summary>The version of the running PeerDistill, its API and its runtime.</summary>
    public static VersionResource Version() => new(
        VersionOf(typeof(ServiceEndpoints).Assembly),
        "v1",
        RuntimeInformation.FrameworkDescription,
        VersionOf(typeof(IGrainFactory).Assembly));

    private static async Task<IResult> WorkersAsync(CohortApi api)
    {
        try
        {
            var workers = await api.ListWorkersAsync().ConfigureAwait(false);
            return TypedResults.Json(
                new WorkerList(workers.Select(w => new WorkerResource(w.Worker, w.Silo, w.TakesPeers, w.Slots.Select(s => new WorkerSlotResource(s.Index, s.Device, s.Peer, s.Started)).ToList())).ToList()),
                RestJsonContext.Default.WorkerList);
        }
        catch (CohortApiException e)
        {
            return RestProblems.From(e);
        }
    }

    private static async Task<IResult> HealthAsync(CohortApi api, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(HealthTimeout);
            await api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: 1), timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            return TypedResults.Json(new HealthResource("serving", null), RestJsonContext.Default.HealthResource);
        }
        catch (Exception e) when (e is CohortApiException or OperationCanceledException or TimeoutException)
        {
            var detail = e is OperationCanceledException ? $"the cluster did not answer within {HealthTimeout.TotalSeconds:0} s" : e.Message;
            return TypedResults.Json(new HealthResource("unavailable", detail), RestJsonContext.Default.HealthResource, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static string VersionOf(Assembly assembly)
    {
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return informational ?? assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
