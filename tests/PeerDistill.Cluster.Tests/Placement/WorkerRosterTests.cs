using PeerDistill.Cluster.Placement;
using Xunit;

namespace PeerDistill.Cluster.Tests.Placement;

/// <summary>Worker ids are unique among the members of a cluster; only admitted, non-draining silos get peers.</summary>
public sealed class WorkerRosterTests
{
    private const string First = "127.0.0.1:4001@100";
    private const string Second = "127.0.0.1:4002@200";
    private static readonly SlotDescriptor[] OneSlot = [new SlotDescriptor(0, "cpu", 0)];

    [Fact]
    public void SecondSiloWithALiveWorkersId_Refused_NamingTheHolder_AndNeverOffered()
    {
        var roster = new WorkerRoster();
        var members = new HashSet<string> { First, Second };

        Assert.True(roster.Join("w1", First, members.Contains).Admitted);
        var second = roster.Join("w1", Second, members.Contains);

        Assert.Equal(new WorkerAdmission(false, First), second);
        Assert.True(roster.Offers(new SiloOffer(First, "w1", OneSlot)));
        Assert.False(roster.Offers(new SiloOffer(Second, "w1", OneSlot)));
    }

    [Fact]
    public void HolderDeclaredDead_IdFreeForItsRestart()
    {
        var roster = new WorkerRoster();
        var members = new HashSet<string> { First, Second };
        roster.Join("w1", First, members.Contains);

        members.Remove(First);

        Assert.True(roster.Join("w1", Second, members.Contains).Admitted);
        Assert.True(roster.Offers(new SiloOffer(Second, "w1", OneSlot)));
        Assert.False(roster.Offers(new SiloOffer(First, "w1", OneSlot)));
    }

    [Fact]
    public void SameSiloJoiningAgain_Admitted()
    {
        var roster = new WorkerRoster();
        var members = new HashSet<string> { First };

        Assert.True(roster.Join("w1", First, members.Contains).Admitted);
        Assert.True(roster.Join("w1", First, members.Contains).Admitted);
    }

    [Fact]
    public void SiloThatNeverJoined_NotOffered()
    {
        Assert.False(new WorkerRoster().Offers(new SiloOffer(First, "w1", OneSlot)));
    }

    [Fact]
    public void DrainingSilo_NotOffered_OthersAre()
    {
        var roster = new WorkerRoster();
        var members = new HashSet<string> { First, Second };
        roster.Join("w1", First, members.Contains);
        roster.Join("w2", Second, members.Contains);

        roster.Drain(First);

        Assert.False(roster.Offers(new SiloOffer(First, "w1", OneSlot)));
        Assert.True(roster.Offers(new SiloOffer(Second, "w2", OneSlot)));
    }
}
