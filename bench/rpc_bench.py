"""The python3-grpcio side of `PeerDistill.Bench rpc` (see bench/PeerDistill.Bench/RpcBenchmark.cs).

    rpc_bench.py stubs --proto-root DIR --out DIR
        generates exchange_pb2/exchange_pb2_grpc (grpc_tools.protoc) into DIR
    rpc_bench.py server --stubs DIR
        serves peerdistill.v1.PeerExchange/Exchange (one ExchangeAck per LogitsFrame) and the bench-only
        unary peerdistill.bench.v1.Bench/Echo (LogitsFrame -> the same LogitsFrame) on 127.0.0.1, prints
        "PORT <n>", and runs until stdin closes
    rpc_bench.py client --stubs DIR --port N [--server-pid PID --unary-warmup W --unary-calls N --stream-warmup W --frames M]
        measures, on one channel, sequential unary Echo calls (blocking stub) and then one Exchange stream
        (request generator, responses iterated), and prints one JSON line

The idiomatic synchronous grpcio API on both sides, with its defaults.
"""
import argparse
import json
import sys
import time

ECHO_METHOD = "/peerdistill.bench.v1.Bench/Echo"


def import_stubs(directory):
    sys.path.insert(0, directory)
    from peerdistill.v1 import exchange_pb2, exchange_pb2_grpc  # noqa: E402

    return exchange_pb2, exchange_pb2_grpc


def generate_stubs(proto_root, out):
    from grpc_tools import protoc

    code = protoc.main(["grpc_tools.protoc", "-I" + proto_root, "--python_out=" + out, "--grpc_python_out=" + out,
                        proto_root.rstrip("/") + "/peerdistill/v1/exchange.proto"])
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (all its threads), from /proc/PID/stat; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split(" ")
        return (int(fields[11]) + int(fields[12])) / 100.0
    except (OSError, ValueError, IndexError):
        return None


def make_frame(pb, batch, classes, step, values):
    return pb.LogitsFrame(
        cohort="bench", run="run-0", sender="peer-a", receiver="peer-b", generation=1, step=step,
        epoch=0, batch_index=step, shape=[batch, classes], dtype=pb.WIRE_D_TYPE_FP32, values=values,
        sent_unix_nanos=time.time_ns())


def serve(args):
    import grpc
    from concurrent import futures

    pb, pb_grpc = import_stubs(args.stubs)

    class PeerExchange(pb_grpc.PeerExchangeServicer):
        def Exchange(self, request_iterator, context):
            for frame in request_iterator:
                yield pb.ExchangeAck(step=frame.step, credit=64, accepted=True)

        def Probe(self, request, context):
            return pb.ProbeReply()

    def echo(request, context):
        return request

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_PeerExchangeServicer_to_server(PeerExchange(), server)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("peerdistill.bench.v1.Bench", {
        "Echo": grpc.unary_unary_rpc_method_handler(
            echo, request_deserializer=pb.LogitsFrame.FromString, response_serializer=pb.LogitsFrame.SerializeToString),
    }),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()  # until the harness closes our stdin
    server.stop(grace=1).wait()


def client(args):
    import grpc

    import os

    pb, pb_grpc = import_stubs(args.stubs)
    me = os.getpid()
    cpu = {}

    def cpu_now():
        return cpu_seconds(me), cpu_seconds(args.server_pid) if args.server_pid else None

    def used(before, after):  # CPU seconds of the client and the server between two readings; None where unknown
        return tuple(None if b is None or a is None else a - b for b, a in zip(before, after))

    values = bytes(args.batch * args.classes * 4)
    with grpc.insecure_channel(f"127.0.0.1:{args.port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        echo = channel.unary_unary(ECHO_METHOD, request_serializer=pb.LogitsFrame.SerializeToString,
                                   response_deserializer=pb.LogitsFrame.FromString)
        frame = make_frame(pb, args.batch, args.classes, 0, values)
        frame_bytes = frame.ByteSize()
        for _ in range(args.unary_warmup):
            echo(frame)
        latencies = []
        clock = time.perf_counter_ns
        before = cpu_now()
        for i in range(args.unary_calls):
            frame.step = i
            start = clock()
            reply = echo(frame)
            latencies.append(clock() - start)
            if reply.step != i:
                raise SystemExit(f"echo returned step {reply.step}, expected {i}")
        after = cpu_now()
        cpu["unary_client_cpu_s"], cpu["unary_server_cpu_s"] = used(before, after)

        stub = pb_grpc.PeerExchangeStub(channel)

        def stream(count):
            def frames():
                for step in range(count):
                    yield make_frame(pb, args.batch, args.classes, step, values)

            acks = 0
            last = -1
            start = clock()
            for ack in stub.Exchange(frames()):
                acks += 1
                last = ack.step
            elapsed = clock() - start
            if acks != count or last != count - 1:
                raise SystemExit(f"got {acks} acks (last step {last}) for {count} frames")
            return elapsed

        if args.stream_warmup > 0:
            stream(args.stream_warmup)
        before = cpu_now()
        elapsed_ns = stream(args.frames)
        after = cpu_now()
        cpu["stream_client_cpu_s"], cpu["stream_server_cpu_s"] = used(before, after)

    print(json.dumps({
        "frame_bytes": frame_bytes,
        "unary_latencies_ns": latencies,
        "stream_frames": args.frames,
        "stream_elapsed_ns": elapsed_ns,
        **cpu,
    }))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stubs", "server", "client"])
    parser.add_argument("--stubs", default=None)
    parser.add_argument("--proto-root", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--unary-warmup", type=int, default=200)
    parser.add_argument("--unary-calls", type=int, default=2000)
    parser.add_argument("--stream-warmup", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    if args.mode == "stubs":
        generate_stubs(args.proto_root, args.out)
    elif args.mode == "server":
        serve(args)
    else:
        client(args)


if __name__ == "__main__":
    main()
