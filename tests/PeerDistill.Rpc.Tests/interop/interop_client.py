#!/usr/bin/python3
"""Reference gRPC client for the PeerDistill interop tests (python3-grpcio).

    /usr/bin/python3 interop_client.py --stubs DIR --target 127.0.0.1:PORT --case NAME [--compression gzip]

Runs one case (or every case with --case all) against a server of peerdistill.testing.v1.Interop and
peerdistill.v1.PeerExchange (the python interop_server.py or the C# one). Each case prints one JSON line
{"case": NAME, "ok": true|false, "detail": ...}; the exit code is 0 if every case passed, else 1
(2 for bad usage).

--compression gzip makes every channel compress its requests with gzip (grpc-encoding: gzip); the client
always accepts gzip-compressed responses (grpc-accept-encoding). The gzip case compresses in any case.
"""

import argparse
import json
import os
import queue
import sys
import time

CASES = ["unary", "bidi", "server_stream", "client_stream", "error_status", "deadline", "metadata",
         "oversize", "exchange", "gzip"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stubs", required=True, help="directory with the generated python stubs")
    p.add_argument("--target", required=True, help="host:port of the server")
    p.add_argument("--case", required=True, choices=CASES + ["all"], help="case to run")
    p.add_argument("--compression", choices=["none", "gzip"], default="none",
                   help="compress the requests of every channel with this encoding (default none)")
    p.add_argument("--timeout", type=float, default=30.0, help="deadline of every call but the deadline case, in seconds")
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, os.path.abspath(ARGS.stubs))

import grpc  # noqa: E402
from peerdistill.testing.v1 import interop_pb2, interop_pb2_grpc  # noqa: E402
from peerdistill.v1 import exchange_pb2, exchange_pb2_grpc  # noqa: E402

TIMEOUT = ARGS.timeout
MIB = 1024 * 1024


class CaseFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailed(message)


def pattern(size, seed=0):
    """Deterministic non-trivial payload of `size` bytes."""
    return bytes((i * 31 + seed) & 0xFF for i in range(size))


COMPRESSION = {"none": grpc.Compression.NoCompression, "gzip": grpc.Compression.Gzip}


def channel(compression=None):
    # Default receive limit (4 MiB) on purpose: the oversize case relies on it.
    if compression is None:
        compression = COMPRESSION[ARGS.compression]
    return grpc.insecure_channel(ARGS.target, compression=compression)


def stub(ch):
    return interop_pb2_grpc.InteropStub(ch)


def expect_error(fn, code, what):
    """Runs fn, which must fail with `code`; returns the grpc.RpcError."""
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "%s: expected %s, got %s (%r)" % (what, code.name, e.code().name, e.details()))
        return e
    raise CaseFailed("%s: expected %s, the call succeeded" % (what, code.name))


# --- cases -------------------------------------------------------------------------------------------

def case_unary():
    with channel() as ch:
        s = stub(ch)
        payload = pattern(1000)
        reply = s.Unary(interop_pb2.EchoRequest(payload=payload), timeout=TIMEOUT)
        check(reply.payload == payload, "echoed payload differs (%d bytes back)" % len(reply.payload))
        check(reply.sequence == 0, "sequence %d, expected 0" % reply.sequence)
        reply = s.Unary(interop_pb2.EchoRequest(payload=payload, reply_size=5000), timeout=TIMEOUT)
        check(reply.payload == b"\x5a" * 5000, "reply_size=5000 gave %d bytes" % len(reply.payload))
    return "1000-byte echo and 5000-byte reply_size ok"


def case_bidi():
    n, size = 100, 5120
    payloads = [pattern(size, i) for i in range(n)]
    sent = []

    def requests():
        for i in range(n):
            sent.append(i)
            yield interop_pb2.EchoRequest(payload=payloads[i])

    with channel() as ch:
        count = 0
        for reply in stub(ch).Bidi(requests(), timeout=TIMEOUT):
            check(count < n, "more than %d replies" % n)
            check(reply.received == count, "reply %d has received=%d" % (count, reply.received))
            check(reply.sequence == count, "reply %d has sequence=%d" % (count, reply.sequence))
            check(reply.payload == payloads[count], "reply %d payload differs" % count)
            count += 1
        check(count == n, "%d replies, expected %d" % (count, n))
    return "%d x %d-byte messages echoed in order" % (n, size)


def case_server_stream():
    with channel() as ch:
        payload = pattern(100)
        replies = list(stub(ch).ServerStream(interop_pb2.EchoRequest(payload=payload, count=20), timeout=TIMEOUT))
        check(len(replies) == 20, "%d replies, expected 20" % len(replies))
        for i, r in enumerate(replies):
            check(r.sequence == i, "reply %d has sequence=%d" % (i, r.sequence))
            check(r.payload == payload, "reply %d payload differs" % i)
    return "20 replies in order"


def case_client_stream():
    n = 30
    payloads = [pattern(64, i) for i in range(n)]
    with channel() as ch:
        reply = stub(ch).ClientStream(iter([interop_pb2.EchoRequest(payload=p) for p in payloads]), timeout=TIMEOUT)
        check(reply.received == n, "received=%d, expected %d" % (reply.received, n))
        check(reply.payload == b"".join(payloads), "concatenated payload differs (%d bytes)" % len(reply.payload))
    return "received=%d" % n


ERROR_MESSAGE = "peer 'a' is at step 7 \u2014 not ready \u2713"


def case_error_status():
    with channel() as ch:
        req = interop_pb2.EchoRequest(status_code=9, status_message=ERROR_MESSAGE)
        e = expect_error(lambda: stub(ch).Unary(req, timeout=TIMEOUT), grpc.StatusCode.FAILED_PRECONDITION, "Unary")
        check(e.details() == ERROR_MESSAGE, "details %r, expected %r" % (e.details(), ERROR_MESSAGE))
    return "FAILED_PRECONDITION with details %r" % ERROR_MESSAGE


def case_deadline():
    with channel() as ch:
        s = stub(ch)
        s.Unary(interop_pb2.EchoRequest(), timeout=TIMEOUT)  # connect first: time only the call
        start = time.monotonic()
        expect_error(lambda: s.Unary(interop_pb2.EchoRequest(delay_ms=2000), timeout=0.3),
                     grpc.StatusCode.DEADLINE_EXCEEDED, "Unary delay_ms=2000 timeout=0.3")
        elapsed = time.monotonic() - start
        check(elapsed < 1.5, "took %.3f s, expected < 1.5 s" % elapsed)
    return "DEADLINE_EXCEEDED after %.3f s" % elapsed


def case_metadata():
    binary = bytes(range(256))
    md = (("x-echo-text", "hello world"), ("x-echo-data-bin", binary))
    with channel() as ch:
        reply, call = stub(ch).Unary.with_call(interop_pb2.EchoRequest(payload=b"m"), metadata=md, timeout=TIMEOUT)
        check(reply.payload == b"m", "payload differs")
        initial = list(call.initial_metadata())
        trailing = list(call.trailing_metadata())

    def values(pairs, key):
        return [v for k, v in pairs if k == key]

    check(values(initial, "x-echo-text") == ["hello world"], "initial x-echo-text: %r" % values(initial, "x-echo-text"))
    check(values(initial, "x-echo-data-bin") == [binary], "initial x-echo-data-bin: %r" % values(initial, "x-echo-data-bin"))
    check(values(trailing, "x-trailer-text") == ["hello world"],
          "trailing x-trailer-text: %r" % values(trailing, "x-trailer-text"))
    check(values(trailing, "x-trailer-data-bin") == [binary],
          "trailing x-trailer-data-bin: %r" % values(trailing, "x-trailer-data-bin"))
    return "text and binary metadata echoed in headers and trailers"


def case_oversize():
    with channel() as ch:
        s = stub(ch)
        big = interop_pb2.EchoRequest(payload=b"\x01" * (5 * MIB))
        e = expect_error(lambda: s.Unary(big, timeout=TIMEOUT), grpc.StatusCode.RESOURCE_EXHAUSTED, "5 MiB request")
        request_detail = e.details()
        reply = s.Unary(interop_pb2.EchoRequest(payload=b"after"), timeout=TIMEOUT)
        check(reply.payload == b"after", "unary call after the oversize one failed")
        e = expect_error(lambda: s.Unary(interop_pb2.EchoRequest(reply_size=5 * MIB), timeout=TIMEOUT),
                         grpc.StatusCode.RESOURCE_EXHAUSTED, "5 MiB reply")
        reply_detail = e.details()
        reply = s.Unary(interop_pb2.EchoRequest(payload=b"again"), timeout=TIMEOUT)
        check(reply.payload == b"again", "unary call after the oversize reply failed")
    return "request: %r; reply: %r; channel still usable" % (request_detail, reply_detail)


def case_exchange():
    n, batch, classes = 50, 128, 10
    outbox = queue.Queue()
    done = object()

    def frames():
        while True:
            item = outbox.get()
            if item is done:
                return
            yield item

    def frame(step, values):
        return exchange_pb2.LogitsFrame(
            cohort="interop", run="interop-run", sender="py", receiver="peer", generation=1, step=step,
            epoch=0, batch_index=step, shape=[batch, classes], dtype=exchange_pb2.WIRE_D_TYPE_FP32,
            values=values, sent_unix_nanos=time.time_ns())

    good = pattern(batch * classes * 4)
    with channel() as ch:
        call = exchange_pb2_grpc.PeerExchangeStub(ch).Exchange(frames(), timeout=TIMEOUT)
        try:
            # Pipelined: keep within the credit the receiver grants (assume 1 frame before the first ack).
            credit, acked, next_step = 1, -1, 0
            while acked < n - 1:
                while next_step < n and next_step - acked <= credit:
                    outbox.put(frame(next_step, good))
                    next_step += 1
                ack = next(call)
                expected = acked + 1
                check(ack.accepted, "frame %d refused: %s (code %d)" % (expected, ack.reason, ack.refused_code))
                check(ack.step == expected, "ack step %d, expected %d" % (ack.step, expected))
                check(ack.refused_code == 0, "accepted ack with refused_code %d" % ack.refused_code)
                check(ack.credit > 0, "ack of step %d grants no credit" % ack.step)
                acked, credit = ack.step, ack.credit
            outbox.put(frame(n, good[:-100]))
            try:
                ack = next(call)
            except StopIteration:
                raise CaseFailed("stream ended OK without answering the short frame")
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                      "short frame ended the stream with %s (%r)" % (e.code().name, e.details()))
                outbox.put(done)
                return "%d frames acked; short frame ended the stream with INVALID_ARGUMENT: %r" % (n, e.details())
            check(not ack.accepted, "short frame was accepted")
            check(ack.refused_code == 3, "short frame refused with code %d, expected 3" % ack.refused_code)
            check(ack.step == n - 1, "refusal ack step %d, expected %d" % (ack.step, n - 1))
            outbox.put(done)
            rest = list(call)
            check(not rest, "%d unexpected acks after half-close" % len(rest))
            check(call.code() == grpc.StatusCode.OK, "stream ended with %s" % call.code().name)
            return "%d frames acked (credit %d); short frame refused in-stream: code 3, %r" % (n, credit, ack.reason)
        finally:
            outbox.put(done)
            call.cancel()


def case_gzip():
    """Unary and bidi round trips on a channel that compresses its requests with gzip (the server may
    compress its responses too: the client accepts gzip)."""
    with channel(grpc.Compression.Gzip) as ch:
        s = stub(ch)
        payload = pattern(20000)
        reply = s.Unary(interop_pb2.EchoRequest(payload=payload), timeout=TIMEOUT)
        check(reply.payload == payload, "unary: echoed payload differs (%d bytes back)" % len(reply.payload))
        reply = s.Unary(interop_pb2.EchoRequest(payload=b"z", reply_size=100000), timeout=TIMEOUT)
        check(reply.payload == b"\x5a" * 100000, "unary: reply_size=100000 gave %d bytes" % len(reply.payload))
        n, size = 20, 5120
        payloads = [pattern(size, i) for i in range(n)]
        count = 0
        for reply in s.Bidi(iter([interop_pb2.EchoRequest(payload=p) for p in payloads]), timeout=TIMEOUT):
            check(count < n, "bidi: more than %d replies" % n)
            check(reply.received == count, "bidi: reply %d has received=%d" % (count, reply.received))
            check(reply.payload == payloads[count], "bidi: reply %d payload differs" % count)
            count += 1
        check(count == n, "bidi: %d replies, expected %d" % (count, n))
    return "gzip unary (20000-byte echo, 100000-byte reply) and bidi (%d x %d bytes) ok" % (n, size)


# --- driver ------------------------------------------------------------------------------------------

def run_case(name):
    fn = globals()["case_" + name]
    try:
        detail, ok = fn(), True
    except CaseFailed as e:
        detail, ok = str(e), False
    except grpc.RpcError as e:
        detail, ok = "unexpected RPC error %s: %r" % (e.code().name, e.details()), False
    except Exception as e:  # report, never crash without a JSON line
        detail, ok = "%s: %s" % (type(e).__name__, e), False
    print(json.dumps({"case": name, "ok": ok, "detail": detail}), flush=True)
    return ok


def main():
    names = CASES if ARGS.case == "all" else [ARGS.case]
    results = [run_case(name) for name in names]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
