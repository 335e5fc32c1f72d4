"""An independent gRPC client (python3-grpcio) of PeerDistill's wire contract, for the interop tests.

    /usr/bin/python3 contract_client.py --stubs DIR --target HOST:PORT --case NAME [case options]

DIR holds the python stubs generated at test time from protos/peerdistill/v1 (see docs/grpc.md). Each case
talks to a real `peerdistill coordinator` or `peerdistill worker` process and prints one JSON line
{"case": ..., "ok": true|false, "detail": ...}; the exit code is 0 when the case passed.

Cases:
  cohort_service     (coordinator) Submit a bad spec -> INVALID_ARGUMENT naming the field path; Submit
                     --spec FILE -> cohort and run; GetCohort, ListCohorts, WatchCohort (first status),
                     CancelCohort -> CANCELLED state, the watch stream ends OK; unknown cohort -> NOT_FOUND.
  exchange_refusals  (worker) Probe; Exchange frames the worker must refuse, each with its code in the ack;
                     a superseded generation ends the stream with FAILED_PRECONDITION. With --cohort, --run,
                     --receiver, --teacher, --generation, --batch, --classes, --total-steps it aims at a
                     cohort the worker trains; without them only the unknown-cohort refusal is checked.
                     With --ticket-key-file (the operator's copy of the cluster's ticket key) each frame
                     goes on a stream of its own with a valid ticket of what it claims (the frame's own
                     checks are tested); without it, on an idle worker, the stream is refused UNAVAILABLE.
  exchange_tickets   (worker, training) Exchange streams refused for their tickets, each with its status and
                     before any ack: none, garbage, forged (another key), altered (one byte), expired,
                     another cohort's, an older generation's, and a valid ticket whose frame claims another
                     sender or generation. Needs --ticket-key-file, --cohort, --run, --receiver, --teacher,
                     --generation, --batch, --classes. Tickets are minted here (format: docs/distributed.md).
  health             (any) grpc.health.v1.Health/Check: "" is SERVING, an unknown service NOT_FOUND.
  reflection         (any) grpc.reflection.v1alpha (and v1 where served) ServerReflectionInfo list_services
                     names every service in --expect (comma-separated) and grpc.health.v1.Health.
  refused            (any, over TLS) grpc.health.v1.Health/Check fails with UNAVAILABLE: the server refused
                     the connection (no client certificate, one of another authority, an untrusted server).
With --ca FILE the channel is TLS (grpcio's own TLS stack), trusting that authority only; --cert and
--key add a client certificate. Without --ca it is cleartext h2c.
Health and reflection have no stubs here (Debian's grpcio has neither grpc_health nor grpc_reflection):
their few protobuf fields are encoded and decoded by hand below, through grpcio's generic calls.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import traceback


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stubs", required=True)
    p.add_argument("--target", required=True, help="host:port (h2c, or TLS with --ca)")
    p.add_argument("--case", required=True, choices=["cohort_service", "exchange_refusals", "exchange_tickets", "health", "reflection", "refused"])
    p.add_argument("--ca", help="TLS: the authority (PEM) the server's certificate must chain to")
    p.add_argument("--cert", help="TLS: a client certificate (PEM), with --key")
    p.add_argument("--key", help="TLS: its key (PEM)")
    p.add_argument("--token", help="an API token, sent as 'authorization: Bearer <token>' on every call")
    p.add_argument("--ticket-key-file", help="a file holding the cluster's 32-byte ticket key, base64 (the operator's copy)")
    p.add_argument("--spec", help="cohort_service: a valid cohort spec file (YAML) to submit")
    p.add_argument("--expect", default="", help="reflection: services that must be listed, comma-separated")
    p.add_argument("--cohort")
    p.add_argument("--run")
    p.add_argument("--receiver")
    p.add_argument("--teacher")
    p.add_argument("--generation", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--total-steps", type=int, default=0)
    p.add_argument("--steps-per-epoch", type=int, default=0, help="the last step of an epoch has a smaller batch: frames avoid it")
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, os.path.abspath(ARGS.stubs))

import grpc  # noqa: E402
from peerdistill.v1 import cohort_pb2, cohort_pb2_grpc, exchange_pb2, exchange_pb2_grpc  # noqa: E402

TIMEOUT = 30


class CaseFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailed(message)


def expect_error(call, code, what):
    try:
        call()
    except grpc.RpcError as e:
        check(e.code() == code, "%s: expected %s, got %s: %s" % (what, code.name, e.code().name, e.details()))
        return e.details() or ""
    raise CaseFailed("%s: expected %s, the call succeeded" % (what, code.name))


# --- exchange tickets (the format of PeerDistill.Cluster.Exchange.TicketCodec) ----------------------

TICKET_HEADER = "peerdistill-ticket"


def ticket_key():
    with open(ARGS.ticket_key_file) as f:
        return base64.b64decode(f.read().strip())


def mint(key, cohort, run, peer, generation, expires_ms=None):
    """base64url(version 1 | generation u64 BE | expiry ms i64 BE | (len u8, utf-8) x cohort, run, peer | HMAC-SHA256)."""
    import time
    if expires_ms is None:
        expires_ms = int(time.time() * 1000) + 3600 * 1000
    payload = bytes([1]) + struct.pack(">Qq", generation, expires_ms)
    for name in (cohort, run, peer):
        b = name.encode("utf-8")
        payload += bytes([len(b)]) + b
    tag = hmac.new(key, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode("ascii")


def ticket_for(f):
    return mint(ticket_key(), f.cohort, f.run, f.sender, f.generation)


# --- cases ------------------------------------------------------------------------------------------

def cohort_service(channel):
    stub = cohort_pb2_grpc.CohortServiceStub(channel)
    # The coordinator checks specs without the engine: a learning rate out of its range is its to refuse.
    bad = "cohort: interop-bad\npeers:\n  - name: a\n    model: mlp\n    optimizer: {kind: adam, lr: 99}\n"
    details = expect_error(lambda: stub.Submit(cohort_pb2.SubmitCohortRequest(spec_text=bad, spec_format="yaml"), timeout=TIMEOUT),
                           grpc.StatusCode.INVALID_ARGUMENT, "Submit of a spec with a learning rate out of range")
    check("peers[0].optimizer.lr" in details, "the INVALID_ARGUMENT details name no field path: %r" % details)
    expect_error(lambda: stub.Submit(cohort_pb2.SubmitCohortRequest(spec_text="x", spec_format="toml"), timeout=TIMEOUT),
                 grpc.StatusCode.INVALID_ARGUMENT, "Submit with spec_format toml")

    with open(ARGS.spec, encoding="utf-8") as f:
        text = f.read()
    reply = stub.Submit(cohort_pb2.SubmitCohortRequest(spec_text=text, spec_format="yaml"), timeout=TIMEOUT)
    check(reply.cohort and reply.run, "Submit replied %r" % reply)
    expect_error(lambda: stub.Submit(cohort_pb2.SubmitCohortRequest(spec_text=text, spec_format="yaml"), timeout=TIMEOUT),
                 grpc.StatusCode.ALREADY_EXISTS, "a second Submit of the open cohort")

    status = stub.GetCohort(cohort_pb2.GetCohortRequest(cohort=reply.cohort), timeout=TIMEOUT)
    check(status.cohort == reply.cohort and status.run == reply.run, "GetCohort gave %s/%s" % (status.cohort, status.run))
    check(status.state in (cohort_pb2.COHORT_STATE_PENDING, cohort_pb2.COHORT_STATE_RUNNING), "fresh cohort in state %d" % status.state)
    check(len(status.peers) >= 2, "GetCohort lists %d peers" % len(status.peers))
    check(not status.HasField("finished_unix_millis"), "an open cohort has finished_unix_millis")

    listed = stub.ListCohorts(cohort_pb2.ListCohortsRequest(), timeout=TIMEOUT)
    check([c.run for c in listed.cohorts].count(reply.run) == 1, "ListCohorts does not list run %s once" % reply.run)

    watch = stub.WatchCohort(cohort_pb2.GetCohortRequest(cohort=reply.cohort, run=reply.run), timeout=TIMEOUT)
    first = next(watch)
    check(first.run == reply.run, "WatchCohort's first status is of run %s" % first.run)

    cancelled = stub.CancelCohort(cohort_pb2.CancelCohortRequest(cohort=reply.cohort, run=reply.run, reason="interop test"), timeout=TIMEOUT)
    check(cancelled.state == cohort_pb2.COHORT_STATE_CANCELLED, "CancelCohort replied state %d" % cancelled.state)
    last = first
    for status in watch:  # ends when the run has ended, with OK
        last = status
    check(watch.code() == grpc.StatusCode.OK, "the watch stream ended with %s" % watch.code())
    check(last.state == cohort_pb2.COHORT_STATE_CANCELLED, "the watch stream's last state is %d" % last.state)
    check(last.HasField("finished_unix_millis"), "a cancelled cohort has no finished_unix_millis")

    details = expect_error(lambda: stub.GetCohort(cohort_pb2.GetCohortRequest(cohort="no-such-cohort"), timeout=TIMEOUT),
                           grpc.StatusCode.NOT_FOUND, "GetCohort of an unknown cohort")
    check("no-such-cohort" in details, "NOT_FOUND details do not name the cohort: %r" % details)
    expect_error(lambda: stub.CancelCohort(cohort_pb2.CancelCohortRequest(cohort="no-such-cohort"), timeout=TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "CancelCohort of an unknown cohort")
    expect_error(lambda: list(stub.WatchCohort(cohort_pb2.GetCohortRequest(cohort="no-such-cohort"), timeout=TIMEOUT)),
                 grpc.StatusCode.NOT_FOUND, "WatchCohort of an unknown cohort")
    return "submitted %s/%s, watched %s, cancelled" % (reply.cohort, reply.run, first.run)


def frame(cohort, run, sender, receiver, generation, step, batch, classes, values=None):
    f = exchange_pb2.LogitsFrame(cohort=cohort, run=run, sender=sender, receiver=receiver, generation=generation,
                                 step=step, epoch=0, batch_index=0, dtype=exchange_pb2.WIRE_D_TYPE_FP32)
    f.shape.extend([batch, classes])
    f.values = values if values is not None else struct.pack("<%df" % (batch * classes), *([0.25] * (batch * classes)))
    return f


def exchange_refusals(channel):
    stub = exchange_pb2_grpc.PeerExchangeStub(channel)
    probe = stub.Probe(exchange_pb2.ProbeRequest(cohort=ARGS.cohort or ""), timeout=TIMEOUT)
    a = ARGS
    cases = [("unknown cohort", frame("no-such-cohort", "r", "x", "y", 1, 0, 2, 10), grpc.StatusCode.NOT_FOUND)]
    if a.cohort:
        hosted = {p.name: p for p in probe.peers}
        check(a.receiver in hosted, "Probe does not list %s: %s" % (a.receiver, list(hosted)))
        current = hosted[a.receiver].step
        if a.steps_per_epoch and current % a.steps_per_epoch == a.steps_per_epoch - 1:
            current += 1
        past = a.total_steps + 5

        def good(step=None, **changes):
            f = frame(a.cohort, a.run, a.teacher, a.receiver, a.generation, current if step is None else step, a.batch, a.classes)
            for k, v in changes.items():
                setattr(f, k, v)
            return f

        short = good()
        short.values = short.values[:-100]
        nan = good()
        nan.values = struct.pack("<%df" % (a.batch * a.classes), *([float("nan")] * (a.batch * a.classes)))
        wrong_shape = good()
        del wrong_shape.shape[:]
        wrong_shape.shape.extend([a.batch, a.classes + 1])
        cases += [
            ("unknown run", good(run="old-run"), grpc.StatusCode.NOT_FOUND),
            ("unknown receiver", good(receiver="nobody"), grpc.StatusCode.NOT_FOUND),
            ("sender that teaches nobody here", good(sender="stranger"), grpc.StatusCode.PERMISSION_DENIED),
            ("step past the run", good(step=past), grpc.StatusCode.OUT_OF_RANGE),
            ("values cut short", short, grpc.StatusCode.INVALID_ARGUMENT),
            ("NaN values", nan, grpc.StatusCode.INVALID_ARGUMENT),
            ("class count", wrong_shape, grpc.StatusCode.INVALID_ARGUMENT),
            ("forged later generation", good(generation=a.generation + 1000), grpc.StatusCode.UNAVAILABLE),
        ]

    frames = [c[1] for c in cases]
    if not ARGS.ticket_key_file:
        # No ticket: an idle worker (no peer hosted, so no key yet) refuses the stream before any frame.
        details = expect_error(lambda: list(stub.Exchange(iter(frames), timeout=TIMEOUT)), grpc.StatusCode.UNAVAILABLE, "a stream to an idle worker")
        check("hosts no peer yet" in details, "an idle worker's refusal does not say why: %s" % details)
        return "idle worker: stream refused UNAVAILABLE (%s); probe listed %d peer(s)" % (details, len(probe.peers))
    acks = []
    for f in frames:
        acks += list(stub.Exchange(iter([f]), timeout=TIMEOUT, metadata=[(TICKET_HEADER, ticket_for(f))]))
    check(len(acks) == len(cases), "%d acks for %d frames" % (len(acks), len(cases)))
    seen = []
    for (name, _, code), ack in zip(cases, acks):
        check(not ack.accepted, "%s: accepted" % name)
        check(ack.refused_code == code.value[0], "%s: refused_code %d, expected %d (%s): %s" % (name, ack.refused_code, code.value[0], code.name, ack.reason))
        check(ack.reason, "%s: refused without a reason" % name)
        seen.append("%s=%s" % (name, code.name))

    if a.cohort:
        # A frame of a generation older than the sender's current one ends the stream.
        stale = frame(a.cohort, a.run, a.teacher, a.receiver, 0, current, a.batch, a.classes)
        expect_error(lambda: list(stub.Exchange(iter([stale]), timeout=TIMEOUT, metadata=[(TICKET_HEADER, ticket_for(stale))])), grpc.StatusCode.FAILED_PRECONDITION, "a superseded generation")
        seen.append("superseded generation=FAILED_PRECONDITION (stream ended)")
    return "; ".join(seen) + "; probe listed %d peer(s)" % len(probe.peers)


def exchange_tickets(channel):
    stub = exchange_pb2_grpc.PeerExchangeStub(channel)
    a = ARGS
    key = ticket_key()
    f = frame(a.cohort, a.run, a.teacher, a.receiver, a.generation, 0, a.batch, a.classes)
    valid = mint(key, a.cohort, a.run, a.teacher, a.generation)
    raw = bytearray(base64.urlsafe_b64decode(valid + "=" * (-len(valid) % 4)))
    raw[3] ^= 0x01  # the generation, changed without the key
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")
    import time
    now_ms = int(time.time() * 1000)
    other = frame(a.cohort, a.run, a.teacher, a.receiver, a.generation + 7, 0, a.batch, a.classes)
    cases = [
        ("no ticket", None, f, grpc.StatusCode.UNAUTHENTICATED, "carries no exchange ticket"),
        ("garbage", "not a ticket!", f, grpc.StatusCode.UNAUTHENTICATED, "malformed"),
        ("forged", mint(os.urandom(32), a.cohort, a.run, a.teacher, a.generation), f, grpc.StatusCode.UNAUTHENTICATED, "signature does not verify"),
        ("altered", altered, f, grpc.StatusCode.UNAUTHENTICATED, "signature does not verify"),
        ("expired", mint(key, a.cohort, a.run, a.teacher, a.generation, now_ms - 1000), f, grpc.StatusCode.UNAUTHENTICATED, "expired"),
        ("another cohort's", mint(key, "other-cohort", a.run, a.teacher, a.generation), f, grpc.StatusCode.PERMISSION_DENIED, "other-cohort"),
        ("an older generation's", mint(key, a.cohort, a.run, a.teacher, a.generation - 1), f, grpc.StatusCode.FAILED_PRECONDITION, "superseded"),
        ("a frame of another generation", valid, other, grpc.StatusCode.PERMISSION_DENIED, "generation %d came with" % (a.generation + 7)),
        ("a frame of another sender", mint(key, a.cohort, a.run, a.receiver, a.generation), f, grpc.StatusCode.PERMISSION_DENIED, "from '%s'" % a.teacher),
    ]
    seen = []
    for name, ticket, fr, code, words in cases:
        metadata = [] if ticket is None else [(TICKET_HEADER, ticket)]
        acks = []

        def call():
            for ack in stub.Exchange(iter([fr]), timeout=TIMEOUT, metadata=metadata):
                acks.append(ack)
        details = expect_error(call, code, name)
        check(not acks, "%s: %d ack(s) came before the refusal" % (name, len(acks)))
        check(words in details, "%s: the refusal does not say %r: %s" % (name, words, details))
        check(key.hex() not in details and base64.b64encode(key).decode() not in details and (ticket is None or ticket not in details), "%s: the refusal repeats a secret" % name)
        seen.append("%s=%s" % (name, code.name))
    return "; ".join(seen)


# Hand-made protobuf for the two standard services (field numbers from grpc/health/v1/health.proto and
# grpc/reflection/v1alpha/reflection.proto, which define the same fields in v1).

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def string_field(number, text):
    data = text.encode("utf-8")
    return varint((number << 3) | 2) + varint(len(data)) + data


def fields(data):
    """(number, wire type, value) of a serialized message; value is an int or bytes."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            size, i = read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise CaseFailed("wire type %d in a reply" % wire)
        yield number, wire, value


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def identity(b):
    return b


SERVING = 1


def health(channel):
    check_call = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=identity, response_deserializer=identity)
    reply = check_call(b"", timeout=TIMEOUT)  # HealthCheckRequest{service: ""}: the server as a whole
    status = dict((n, v) for n, _, v in fields(reply)).get(1, 0)
    check(status == SERVING, "Check(\"\") answered status %d (bytes %r), expected SERVING" % (status, reply))
    expect_error(lambda: check_call(string_field(1, "no.such.Service"), timeout=TIMEOUT), grpc.StatusCode.NOT_FOUND, "Check of an unknown service")
    return "SERVING; unknown service NOT_FOUND"


def list_services(channel, version):
    info = channel.stream_stream("/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
                                 request_serializer=identity, response_deserializer=identity)
    replies = list(info(iter([string_field(7, "")]), timeout=TIMEOUT))  # ServerReflectionRequest{list_services: ""}
    check(len(replies) == 1, "%s: %d replies to one request" % (version, len(replies)))
    names = []
    for number, _, value in fields(replies[0]):
        if number == 7:  # error_response
            raise CaseFailed("%s: error response %r" % (version, value))
        if number == 6:  # list_services_response: repeated ServiceResponse service = 1 { string name = 1 }
            for n, _, service in fields(value):
                if n == 1:
                    names += [v.decode("utf-8") for m, _, v in fields(service) if m == 1]
    return names


def reflection(channel):
    expected = [s for s in ARGS.expect.split(",") if s] + ["grpc.health.v1.Health"]
    results = []
    names = list_services(channel, "v1alpha")
    missing = [s for s in expected if s not in names]
    check(not missing, "v1alpha list_services lacks %s: %s" % (missing, names))
    results.append("v1alpha: " + ", ".join(sorted(names)))
    try:
        v1 = list_services(channel, "v1")
        missing = [s for s in expected if s not in v1]
        check(not missing, "v1 list_services lacks %s: %s" % (missing, v1))
        results.append("v1: same")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "v1 reflection failed with %s: %s" % (e.code().name, e.details()))
        results.append("v1: not served")
    return "; ".join(results)


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                  grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the API token to every call's metadata (call credentials need a TLS channel in grpcio)."""

    def __init__(self, token):
        self.header = ("authorization", "Bearer " + token)

    def _details(self, details):
        metadata = list(details.metadata or []) + [self.header]
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


def refused(channel):
    check_call = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=identity, response_deserializer=identity)
    expect_error(lambda: check_call(b"", timeout=TIMEOUT), grpc.StatusCode.UNAVAILABLE, "Check over a connection the server should refuse")
    return "UNAVAILABLE"


CASES = {"cohort_service": cohort_service, "exchange_refusals": exchange_refusals, "exchange_tickets": exchange_tickets, "health": health, "reflection": reflection, "refused": refused}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def open_channel():
    options = [("grpc.enable_http_proxy", 0)]
    if not ARGS.ca:
        return grpc.insecure_channel(ARGS.target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(ARGS.ca),
        private_key=read(ARGS.key) if ARGS.key else None,
        certificate_chain=read(ARGS.cert) if ARGS.cert else None)
    return grpc.secure_channel(ARGS.target, credentials, options=options)


def main():
    channel = open_channel()
    try:
        if ARGS.case != "refused":  # a refused connection never becomes ready
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        calls = grpc.intercept_channel(channel, BearerToken(ARGS.token)) if ARGS.token else channel
        detail = CASES[ARGS.case](calls)
        ok = True
    except CaseFailed as e:
        ok, detail = False, str(e)
    except grpc.RpcError as e:
        ok, detail = False, "unexpected status %s: %s" % (e.code().name, e.details())
    except Exception:  # report, do not hide
        ok, detail = False, traceback.format_exc()
    finally:
        channel.close()
    print(json.dumps({"case": ARGS.case, "ok": ok, "detail": detail}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
