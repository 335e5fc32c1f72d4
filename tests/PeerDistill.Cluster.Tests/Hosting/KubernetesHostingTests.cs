using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using Xunit;

namespace PeerDistill.Cluster.Tests.Hosting;

/// <summary>
/// A silo in a Kubernetes pod (built, not started: there is no cluster here): Orleans' Kubernetes
/// hosting names it after its pod and knows the pod, while the address it advertises stays the one it
/// was given; outside a pod none of it is added.
/// </summary>
public sealed class KubernetesHostingTests
{
    private static SiloSettings Worker(bool inPod) => new()
    {
        Role = SiloRoles.Worker,
        Name = "w1",
        Address = IPAddress.Parse("10.1.2.3"),
        SiloPort = 11111,
        Primary = new IPEndPoint(IPAddress.Parse("10.1.2.4"), 11111),
        Slots = [new SlotDescriptor(0, "cpu", 1)],
        InKubernetesPod = inPod,
    };

    private static IHost Build(SiloSettings settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.AddPeerDistill(settings));
        return builder.Build();
    }

    [Fact]
    public void InAPod_TheSiloIsNamedAfterIt_AndAdvertisesTheAddressItWasGiven()
    {
        // The pod's name as Kubernetes gives it to the container (no POD_NAME in this test's process: the host name).
        var name = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } given ? given : Environment.MachineName;
        // The pod's namespace, as the chart gives it (the package refuses to start without one); only
        // silos given a pod read it, and no other test gives one.
        var namespaceBefore = Environment.GetEnvironmentVariable("POD_NAMESPACE");
        Environment.SetEnvironmentVariable("POD_NAMESPACE", "ml");
        try
        {
            using var host = Build(Worker(inPod: true));

            Assert.Equal(name, host.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
            Assert.NotEqual("w1", name);
            Assert.NotNull(host.Services.GetRequiredService<IOptions<KubernetesHostingOptions>>().Value);
            var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
            Assert.Equal(IPAddress.Parse("10.1.2.3"), endpoints.AdvertisedIPAddress);
            Assert.Equal(11111, endpoints.SiloPort);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POD_NAMESPACE", namespaceBefore);
        }
    }

    [Fact]
    public void OutsideAPod_TheSiloKeepsItsName_AndNoKubernetesHostingIsAdded()
    {
        using var host = Build(Worker(inPod: false));

        Assert.Equal("w1", host.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
        Assert.DoesNotContain(host.Services.GetServices<IConfigureOptions<KubernetesHostingOptions>>(), c => c.GetType().Assembly == typeof(KubernetesHostingOptions).Assembly);
    }
}
