using System.Collections.Immutable;
using PeerDistill.Cluster.Placement;
using Xunit;

namespace PeerDistill.Cluster.Tests.Placement;

/// <summary>The slots and role a silo writes into its Orleans metadata, read back.</summary>
public sealed class SiloRolesTests
{
    private static ImmutableDictionary<string, string> Metadata(string slots) => ImmutableDictionary<string, string>.Empty.Add(SiloRoles.SlotsKey, slots);

    [Fact]
    public void FormatThenParse_RoundTrips()
    {
        SlotDescriptor[] slots = [new(0, "cpu", 2), new(1, "cuda:0", 0), new(7, "cuda:1", 16)];

        var text = SiloRoles.FormatSlots(slots);
        var back = SiloRoles.ParseSlots(Metadata(text));

        Assert.Equal("0=cpu/2;1=cuda:0/0;7=cuda:1/16", text);
        Assert.Equal(slots, back);
    }

    [Theory]
    [InlineData("0=cpu")]
    [InlineData("=cpu/1")]
    [InlineData("x=cpu/1")]
    [InlineData("0=cpu/x")]
    [InlineData("0=cpu/1;1cuda:0/1")]
    [InlineData("-1=cpu/1")]
    [InlineData("0/1=cpu")]
    public void MalformedSlots_NoSlots(string text) => Assert.Empty(SiloRoles.ParseSlots(Metadata(text)));

    [Fact]
    public void NoMetadataOrNoSlotsEntry_NoSlots()
    {
        Assert.Empty(SiloRoles.ParseSlots(null));
        Assert.Empty(SiloRoles.ParseSlots(ImmutableDictionary<string, string>.Empty));
        Assert.Empty(SiloRoles.ParseSlots(Metadata("  ")));
    }

    [Fact]
    public void Role_ReadFromTheRoleKey()
    {
        Assert.Equal(SiloRoles.Worker, SiloRoles.Role(ImmutableDictionary<string, string>.Empty.Add(SiloRoles.RoleKey, SiloRoles.Worker)));
        Assert.Null(SiloRoles.Role(ImmutableDictionary<string, string>.Empty));
        Assert.Null(SiloRoles.Role(null));
    }
}
