using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Strategies;
using PeerDistill.Protocol.V1;
using PeerDistill.Cluster.Exchange;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Bad frames sent over the wire to a worker while its peer trains: each refused with its code, training undisturbed.</summary>
public sealed class WireRefusalTests
{
    private static LogitsFrame Good(string cohort, string sender, string receiver, long step, int batch, int classes)
    {
        var f = new LogitsFrame
        {
            Cohort = cohort,
            Run = "grpc",
            Sender = sender,
            Receiver = receiver,
            Generation = 1,
            Step = step,
            Dtype = WireDType.Fp32,
            Values = WireCodec.Encode(new float[batch * classes], WireDType.Fp32),
        };
        f.Shape.Add(batch);
        f.Shape.Add(classes);
        return f;
    }

    [Fact]
    public async Task BadFramesOfEveryKind_AreRefused_AndTrainingIsUndisturbed()
    {
        var spec = GrpcExchangeTestsAccess.Smoke(epochs: 3);
        var data = CohortData.Load(spec.Data);
        var strategy = StrategyRegistry.Create(spec);
        var (receiver, sender) = (spec.Peers[0].Name, spec.Peers[1].Name);
        var batch = spec.Data.BatchSize;
        var classes = data.Classes;
        var dir = Directory.CreateTempSubdirectory("peerdistill-refusals-");
        try
        {
            var embedded = new GrpcExchangeTestsAccess.Recorder();
            CohortRunner.Run(spec, data, strategy, "embedded", Path.Combine(dir.FullName, "e"), resume: false, embedded, new StopControl());

            var cases = new List<(string Kind, LogitsFrame Frame, StatusCode Code)>();
            LogitsFrame G(long step = 40) => Good(spec.Cohort, sender, receiver, step, batch, classes);
            var f = G(); f.Cohort = "another"; cases.Add(("wrong cohort", f, StatusCode.NotFound));
            f = G(); f.Run = "old-run"; cases.Add(("wrong run", f, StatusCode.NotFound));
            f = G(); f.Receiver = "nobody"; cases.Add(("unknown receiver", f, StatusCode.NotFound));
            f = G(); f.Sender = "mallory"; cases.Add(("unknown sender", f, StatusCode.PermissionDenied));
            f = G(data.TotalSteps + 5); cases.Add(("step past the run", f, StatusCode.OutOfRange));
            // (Not the last step: the last batch of an epoch is smaller, and its shape would be refused first.)
            f = G(data.TotalSteps - 2); cases.Add(("too far ahead", f, StatusCode.OutOfRange));
            f = G(); f.Shape[1] = classes + 1; f.Values = WireCodec.Encode(new float[batch * (classes + 1)], WireDType.Fp32); cases.Add(("class count", f, StatusCode.InvalidArgument));
            f = G(); f.Shape[0] = batch - 1; f.Values = WireCodec.Encode(new float[(batch - 1) * classes], WireDType.Fp32); cases.Add(("batch size", f, StatusCode.InvalidArgument));
            f = G(); f.Values = ByteString.CopyFrom(new byte[10]); cases.Add(("values length", f, StatusCode.InvalidArgument));
            f = G(); f.Dtype = WireDType.Fp16; f.Values = WireCodec.Encode(new float[batch * classes], WireDType.Fp16); cases.Add(("wire dtype", f, StatusCode.InvalidArgument));
            f = G(); f.Values = WireCodec.Encode(Enumerable.Repeat(float.NaN, batch * classes).ToArray(), WireDType.Fp32); cases.Add(("NaN", f, StatusCode.InvalidArgument));
            f = G(); f.Values = WireCodec.Encode([.. new float[(batch * classes) - 1], float.NegativeInfinity], WireDType.Fp32); cases.Add(("infinity", f, StatusCode.InvalidArgument));
            f = G(); f.Values = WireCodec.Encode([.. new float[(batch * classes) - 1], 3e38f], WireDType.Fp32); cases.Add(("huge", f, StatusCode.InvalidArgument));
            f = G(); f.Generation = 1_000_000; cases.Add(("forged generation", f, StatusCode.Unavailable));
            f = G(data.TotalSteps - 70); cases.Add(("a step the sender has not reached", f, StatusCode.OutOfRange));

            var acks = new List<ExchangeAck>();
            StatusCode? staleStatus = null;
            StatusCode? oversizeStatus = null;
            var distributed = new GrpcExchangeTestsAccess.Recorder();
            await GrpcExchangeTests.RunOnTwoWorkersAsync(spec, data, strategy, distributed, Path.Combine(dir.FullName, "g"), servers =>
            {
                using var channel = GrpcChannels.ForAddress(servers[0].Address);
                Task.Run(async () =>
                {
                    // Each frame on a stream of its own, with a valid ticket of what it claims (an insider:
                    // the frame's own checks are what is tested here; the tickets' are in TicketServiceTests).
                    foreach (var c in cases)
                    {
                        using var call = new PeerExchange.PeerExchangeClient(channel).Exchange(TestTickets.For(c.Frame));
                        await call.RequestStream.WriteAsync(c.Frame);
                        Assert.True(await call.ResponseStream.MoveNext());
                        acks.Add(call.ResponseStream.Current);
                        await call.RequestStream.CompleteAsync();
                        Assert.False(await call.ResponseStream.MoveNext());
                    }

                    // A superseded generation ends the sender's stream.
                    var stale = G();
                    stale.Generation = 0;
                    using (var call = new PeerExchange.PeerExchangeClient(channel).Exchange(TestTickets.For(stale)))
                    {
                        try
                        {
                            await call.RequestStream.WriteAsync(stale);
                        }
                        catch (RpcException)
                        {
                            // The ticket is refused before any frame is read; the status comes with the response.
                        }

                        var e = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
                        staleStatus = e.StatusCode;
                    }

                    // A frame over the 4 MiB receive limit ends the stream in the transport.
                    using (var call = new PeerExchange.PeerExchangeClient(channel).Exchange(TestTickets.For(G())))
                    {
                        var big = G();
                        big.Values = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);
                        try
                        {
                            await call.RequestStream.WriteAsync(big);
                        }
                        catch (RpcException)
                        {
                            // The server may end the call while the frame is still going out; its status comes with the response.
                        }

                        try
                        {
                            await call.ResponseStream.MoveNext();
                        }
                        catch (RpcException e)
                        {
                            oversizeStatus = e.StatusCode;
                        }
                    }
                }).GetAwaiter().GetResult();
            });

            Assert.Equal(cases.Count, acks.Count);
            for (var i = 0; i < cases.Count; i++)
            {
                Assert.False(acks[i].Accepted, $"{cases[i].Kind} was accepted");
                Assert.Equal(cases[i].Code, (StatusCode)acks[i].RefusedCode);
                Assert.Contains(cases[i].Frame.Sender, acks[i].Reason);
            }

            Assert.Equal(StatusCode.FailedPrecondition, staleStatus);
            Assert.True(oversizeStatus == StatusCode.ResourceExhausted, $"oversize frame gave {oversizeStatus?.ToString() ?? "no error"}");

            // Training went on as if nothing had been sent.
            var expected = embedded.Steps.ToDictionary(s => (s.Peer, s.Step), s => s.Loss);
            var actual = distributed.Steps.ToDictionary(s => (s.Peer, s.Step), s => s.Loss);
            Assert.Equal(expected.Count, actual.Count);
            Assert.All(expected, kv => Assert.Equal(kv.Value, actual[kv.Key]));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
