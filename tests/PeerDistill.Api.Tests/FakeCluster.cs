using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Grains;

namespace PeerDistill.Api.Tests;

/// <summary>
/// The grains <see cref="CohortApi"/> talks to, in memory: a run index and cohort grains that
/// keep what they were started with. <see cref="Refusing"/> is a grain factory that fails the test
/// if it is used at all (for refusals that must happen before any grain call).
/// </summary>
internal sealed class FakeCluster
{
    /// <summary>Copies what a grain returns, as an Orleans call does for a type that is not [Immutable].</summary>
    private static readonly DeepCopier Copier = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<DeepCopier>();

    public Index Runs { get; } = new();

    public Dictionary<string, Cohort> Cohorts { get; } = new(StringComparer.Ordinal);

    /// <summary>Makes the next cohort grain's start fail.</summary>
    public Exception? FailStart { get; set; }

    public IGrainFactory Grains => Factory.Over(this);

    public static IGrainFactory Refusing => Factory.Over(null);

    /// <summary>IGrainFactory through a proxy: only GetGrain&lt;T&gt;(string key, ...) is served.</summary>
    public class Factory : DispatchProxy
    {
        private FakeCluster? _cluster;

        public static IGrainFactory Over(FakeCluster? cluster)
        {
            var proxy = Create<IGrainFactory, Factory>();
            ((Factory)(object)proxy)._cluster = cluster;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (_cluster is null)
            {
                throw new InvalidOperationException($"the grain factory was used ({targetMethod.Name}) though the call should have been refused before any grain call");
            }

            var type = targetMethod.IsGenericMethod ? targetMethod.GetGenericArguments()[0] : null;
            var key = args?.FirstOrDefault() as string;
            if (targetMethod.Name == nameof(IGrainFactory.GetGrain) && key is not null)
            {
                if (type == typeof(ICohortIndexGrain))
                {
                    return _cluster.Runs;
                }

                if (type == typeof(ICohortGrain))
                {
                    if (!_cluster.Cohorts.TryGetValue(key, out var cohort))
                    {
                        cohort = new Cohort(_cluster);
                        _cluster.Cohorts[key] = cohort;
                    }

                    return cohort;
                }
            }

            throw new NotSupportedException($"{targetMethod} is not faked");
        }
    }

    /// <summary>The run index: run ids cohort-1, cohort-2, ...; one unfinished run per cohort.</summary>
    public sealed class Index : ICohortIndexGrain
    {
        private readonly List<RunEntry> _runs = [];

        public Task<RunAdmission> AdmitAsync(string cohort, long nowUnixMillis, RunRequestKey? request = null, string? project = null)
        {
            if (request is not null && _runs.FirstOrDefault(r => r.Request?.Key == request.Key) is { } earlier)
            {
                return Task.FromResult(earlier.Request!.Digest == request.Digest && earlier.Cohort == cohort && earlier.Project == project
                    ? new RunAdmission(earlier.Run, null, Replayed: true)
                    : new RunAdmission(null, null, KeyReused: earlier));
            }

            if (_runs.FirstOrDefault(r => r.Cohort == cohort && !States.IsFinished(r.State)) is { } open)
            {
                return Task.FromResult(new RunAdmission(null, open));
            }

            var run = $"{cohort}-{_runs.Count(r => r.Cohort == cohort) + 1}";
            _runs.Insert(0, new RunEntry(cohort, run, _runs.Count + 1, CohortState.Pending, request, project));
            return Task.FromResult(new RunAdmission(run, null));
        }

        public Task UpdateAsync(string cohort, string run, CohortState state)
        {
            var i = _runs.FindIndex(r => r.Cohort == cohort && r.Run == run);
            _runs[i] = _runs[i] with { State = state };
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<RunEntry>> ListAsync() => Task.FromResult<IReadOnlyList<RunEntry>>(_runs.ToList());

        public Task<bool> RemoveAsync(string cohort, string run) => Task.FromResult(_runs.RemoveAll(r => r.Cohort == cohort && r.Run == run) > 0);
    }

    /// <summary>A cohort grain that runs the real lifecycle rules but never places a peer.</summary>
    public sealed class Cohort(FakeCluster cluster) : ICohortGrain
    {
        public CohortSubmission? Submission { get; private set; }

        public CohortLifecycle? Lifecycle { get; private set; }

        public Task StartAsync(CohortSubmission submission, CancellationToken cancellationToken = default)
        {
            if (cluster.FailStart is { } failure)
            {
                cluster.FailStart = null;
                return Task.FromException(failure);
            }

            Submission = submission;
            Lifecycle = CohortLifecycle.Start(submission, TimeProvider.System);
            return Task.CompletedTask;
        }

        /// <summary>How many times the status was read.</summary>
        public int StatusReads => _statusReads;

        private int _statusReads;

        public Task<CohortRecord?> GetStatusAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _statusReads);
            return Task.FromResult(Lifecycle is null ? null : Copier.Copy(Lifecycle.Record));
        }

        public async Task<CohortState> CancelAsync(string reason, CancellationToken cancellationToken = default)
        {
            Lifecycle!.Cancel(reason);
            await cluster.Runs.UpdateAsync(Submission!.Cohort, Submission.Run, Lifecycle.Record.State);
            return Lifecycle.Record.State;
        }

        public Task<ReportReply> ReportAsync(PeerReport report, CancellationToken cancellationToken = default) => Task.FromResult(Lifecycle!.Apply(report));

        public Task<bool> ForgetAsync(CancellationToken cancellationToken = default)
        {
            if (Lifecycle is { Record.IsFinished: false })
            {
                return Task.FromResult(false);
            }

            (Lifecycle, Submission) = (null, null);
            return Task.FromResult(true);
        }

        /// <summary>The lifecycle's refusals; a run it lets pause pauses at <see cref="FakePauseStep"/> (no peer runs to agree with).</summary>
        public Task<SteerReply> PauseAsync(CancellationToken cancellationToken = default)
        {
            if (Lifecycle!.PauseRefusal() is { } refused)
            {
                return Task.FromResult(refused);
            }

            Lifecycle.Pause(FakePauseStep);

            // No peer runs here: each has stopped at the pause step at once.
            Lifecycle.Record.Peers.ForEach(p => p.State = PeerState.Paused);
            return Task.FromResult(new SteerReply(SteerOutcome.Done, string.Empty, FakePauseStep));
        }

        public Task<SteerReply> ResumeAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(Lifecycle!.ResumeRefusal() ?? new SteerReply(SteerOutcome.Done, string.Empty, Lifecycle.Resume()));

        public Task<SteerReply> UpdateAsync(PeerDistill.Core.Spec.CohortChange change, CancellationToken cancellationToken = default)
        {
            if (Lifecycle!.UpdateRefusal() is { } refused)
            {
                return Task.FromResult(refused);
            }

            Lifecycle.AddChange(change.At(FakePauseStep));
            return Task.FromResult(new SteerReply(SteerOutcome.Done, string.Empty, FakePauseStep));
        }

        public const long FakePauseStep = 7;
    }
}
