namespace PeerDistill.Cluster.Hosting;

/// <summary>A worker could not join: a live member of the cluster holds its worker id.</summary>
public sealed class WorkerIdTakenException : Exception
{
    public WorkerIdTakenException()
    {
    }

    public WorkerIdTakenException(string message)
        : base(message)
    {
    }

    public WorkerIdTakenException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
