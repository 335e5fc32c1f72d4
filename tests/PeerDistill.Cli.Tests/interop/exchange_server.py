"""A reference PeerExchange receiver (python3-grpcio) for the interop tests: the project's C# exchange
client sends it real frames and must read its acknowledgements right.

    /usr/bin/python3 exchange_server.py --stubs DIR [--batch 128 --classes 10]

Serves peerdistill.v1.PeerExchange on 127.0.0.1 (insecure, a free port), prints "PORT <n>" once it listens,
then one JSON line per frame it received: {"frame": {sender, receiver, cohort, run, generation, step, shape,
dtype, values_sum, accepted}}. Exchange acks every frame: accepted (step = its step, credit 64) when it is
[batch, classes] FP32 with prod(shape) * 4 bytes of values, else refused with refused_code INVALID_ARGUMENT
(3) and step = the highest accepted one. Probe reports no peers. Serves until stdin reaches end of file
(the test closed it or died), SIGTERM or SIGINT.
"""

import argparse
import json
import math
import os
import signal
import struct
import sys
import threading
from concurrent import futures

CREDIT = 64
DTYPE_SIZES = {1: 4, 2: 2}  # WIRE_D_TYPE_FP32, WIRE_D_TYPE_FP16


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stubs", required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--classes", type=int, default=10)
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, os.path.abspath(ARGS.stubs))

import grpc  # noqa: E402
from peerdistill.v1 import exchange_pb2, exchange_pb2_grpc  # noqa: E402

PRINT = threading.Lock()


def report(frame, accepted):
    values_sum = None
    if frame.dtype == 1 and len(frame.values) % 4 == 0:
        values_sum = math.fsum(struct.unpack("<%df" % (len(frame.values) // 4), frame.values))
    line = json.dumps({"frame": {"sender": frame.sender, "receiver": frame.receiver, "cohort": frame.cohort, "run": frame.run,
                                 "generation": frame.generation, "step": frame.step, "shape": list(frame.shape),
                                 "dtype": frame.dtype, "values_sum": values_sum, "accepted": accepted}})
    with PRINT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Receiver(exchange_pb2_grpc.PeerExchangeServicer):
    def Exchange(self, request_iterator, context):
        highest = -1
        for frame in request_iterator:
            problem = self.problem(frame)
            report(frame, problem is None)
            if problem is None:
                highest = max(highest, frame.step)
                yield exchange_pb2.ExchangeAck(step=frame.step, credit=CREDIT, accepted=True)
            else:
                yield exchange_pb2.ExchangeAck(step=highest, credit=CREDIT, accepted=False, reason=problem,
                                               refused_code=grpc.StatusCode.INVALID_ARGUMENT.value[0])

    @staticmethod
    def problem(frame):
        if frame.dtype not in DTYPE_SIZES:
            return "frame of step %d has unsupported dtype %d" % (frame.step, frame.dtype)
        if list(frame.shape) != [ARGS.batch, ARGS.classes]:
            return "frame of step %d has shape %s, expected [%d, %d]" % (frame.step, list(frame.shape), ARGS.batch, ARGS.classes)
        expected = math.prod(frame.shape) * DTYPE_SIZES[frame.dtype]
        if len(frame.values) != expected:
            return "frame of step %d has %d bytes of values, expected %d" % (frame.step, len(frame.values), expected)
        return None

    def Probe(self, request, context):
        return exchange_pb2.ProbeReply()


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 0)])
    exchange_pb2_grpc.add_PeerExchangeServicer_to_server(Receiver(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        sys.stderr.write("exchange_server: cannot bind 127.0.0.1\n")
        sys.exit(2)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        try:
            while sys.stdin.buffer.read1(65536):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with PRINT:
        sys.stdout.write("PORT %d\n" % port)
        sys.stdout.flush()
    while not stop.wait(0.2):
        pass
    server.stop(grace=1.0).wait(3.0)


if __name__ == "__main__":
    main()
