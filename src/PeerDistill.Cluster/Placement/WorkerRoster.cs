namespace PeerDistill.Cluster.Placement;

/// <summary>
/// Which worker silo holds which worker id, and which silos are draining (their worker stops: no new
/// peers). A worker id names one process in statuses and events, so a second silo may not take an
/// id a live one holds; an id is free again once its silo is shutting down or dead (a worker that was
/// killed is declared dead by Orleans membership within seconds, and its restart takes the id back).
/// Only admitted, non-draining silos are offered to placement. Plain code (the slot board grain holds
/// one; tests use it directly).
/// </summary>
public sealed class WorkerRoster
{
    private readonly Dictionary<string, string> _holders = new(StringComparer.Ordinal);
    private readonly HashSet<string> _draining = new(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="silo"/> joins as <paramref name="worker"/>: admitted unless another silo that
    /// <paramref name="holds"/> says is still a member (joining or active) holds the id.
    /// </summary>
    public WorkerAdmission Join(string worker, string silo, Func<string, bool> holds)
    {
        ArgumentNullException.ThrowIfNull(holds);
        Prune(holds);
        if (_holders.TryGetValue(worker, out var holder) && holder != silo)
        {
            return new WorkerAdmission(false, holder);
        }

        _holders[worker] = silo;
        return new WorkerAdmission(true);
    }

    /// <summary>The worker of <paramref name="silo"/> stops: its slots are offered no more.</summary>
    public void Drain(string silo) => _draining.Add(silo);

    /// <summary>Whether placement may use <paramref name="offer"/>: its silo was admitted under its id and does not drain.</summary>
    public bool Offers(SiloOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        return _holders.TryGetValue(offer.WorkerId, out var holder) && holder == offer.Silo && !_draining.Contains(offer.Silo);
    }

    /// <summary>Forgets the silos that are no longer members (their ids are free again).</summary>
    public void Prune(Func<string, bool> holds)
    {
        ArgumentNullException.ThrowIfNull(holds);
        foreach (var (worker, silo) in _holders.Where(h => !holds(h.Value)).ToList())
        {
            _holders.Remove(worker);
        }

        _draining.RemoveWhere(s => !holds(s));
    }
}
