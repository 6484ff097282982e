"""A stateful fuzz of the ESME face: random, mutated and out-of-state PDU
sequences into a live router over a real socket.

The router (a RouterHarness: real Redis, the simulated SMSC) runs on the
test's reactor; Hypothesis runs in a thread of its own and speaks SMPP over a
blocking socket, asking the reactor (blockingCallFromThread) only to look at
the server's side of its connection. One example is one connection; each
step writes some bytes and then waits until every request the router has
framed so far is answered, or the connection is closed.

What is checked, step by step:
- every request the router can have framed (by the length rule, modelled here
  independently of the router's framer) is answered exactly once, by its own
  response or a generic_nack, with a status that names the problem (a known
  status, never ESME_RSYSERR; a generic_nack never ESME_ROK), and where the
  input was left intact the very status the spec gives (submit before bind:
  ESME_RINVBNDSTS; a second bind: ESME_RALYBND; an unknown command_id:
  ESME_RINVCMDID; ...);
- nothing answers what was never asked;
- a connection the router ends carries a reason (the server protocol's
  close_reason), and input that cannot be framed ends it;
- nothing is logged as a failure (a twisted.logger observer, checked after
  every example so that Hypothesis can shrink to the input; trial's own
  flushLoggedErrors must find none at the end).
"""

import collections
import gc
import itertools
import os
import socket
import struct
import time

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from twisted.internet import threads
from twisted.internet.threads import blockingCallFromThread
from twisted.logger import globalLogPublisher, formatEvent
from twisted.trial.unittest import TestCase

from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.commands import RESPONSE_BIT, UNANSWERED, CommandId
from smpprouter.smpp.status import Status
from tests.smpp import strategies as S

from .harness import PASSWORDS, RouterHarness, reactor, run

HEADER = struct.Struct(">IIII")
ANSWER_WITHIN = 10.0     # a request unanswered this long is a failure, not a wait
EXAMPLES = int(os.environ.get("SMPPROUTER_FUZZ_EXAMPLES", 70))   # more for a long hunt
STEPS = 12

BINDS = (P.BindTransmitter, P.BindReceiver, P.BindTransceiver)
REQUESTS = tuple(cls for cls in P.ALL if not cls.command_id & RESPONSE_BIT)
RESPONSES = tuple(cls for cls in P.ALL if cls.command_id & RESPONSE_BIT)
KNOWN_IDS = frozenset(cls.command_id for cls in P.ALL)
IMPRECISE = frozenset((Status.ESME_RSYSERR, Status.ESME_RUNKNOWNERR))
VALID_STATUSES = frozenset(int(s) for s in Status)

unknown_id = st.integers(0, 0x7FFFFFFF).filter(lambda c: c not in KNOWN_IDS)
routable = st.sampled_from(("15551234567", "9991234", "4412345678", ""))


def _submit(dest, text, receipt):
    return P.SubmitSm(source_addr="MyBrand", destination_addr=dest, short_message=text,
                      registered_delivery=receipt)


submit = st.builds(_submit, routable, st.binary(max_size=160), st.sampled_from((0, 1)))
requests = st.one_of(st.sampled_from(REQUESTS).flatmap(S.pdu_of), submit)
responses = st.sampled_from(RESPONSES).flatmap(S.pdu_of)


class Mutation:
    """What to do to an encoded frame, as data (so Hypothesis prints it)."""

    @staticmethod
    def flip(frame, positions):
        data = bytearray(frame)
        for pos, xor in positions:
            data[pos % len(data)] ^= xor or 1
        return bytes(data)

    @staticmethod
    def length(frame, value):
        return struct.pack(">I", value & 0xFFFFFFFF) + frame[4:]

    @staticmethod
    def command_id(frame, value):
        return frame[:4] + struct.pack(">I", value) + frame[8:]

    @staticmethod
    def truncate(frame, keep):
        return frame[:keep % max(1, len(frame))]

    @staticmethod
    def tlv(frame, tag, length, value):
        """An optional parameter whose length says other than its value's."""
        body = frame[16:] + struct.pack(">HH", tag, length) + value
        return struct.pack(">I", 16 + len(body)) + frame[4:16] + body

    @staticmethod
    def tail(frame, extra):
        """Octets after the last field, counted in command_length."""
        body = frame[16:] + extra
        return struct.pack(">I", 16 + len(body)) + frame[4:16] + body


mutations = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                        min_size=1, max_size=4)),
    st.tuples(st.just("length"), st.one_of(st.sampled_from((0, 1, 15, 16, 17, 70001,
                                                            0xFFFFFFFF)),
                                           st.integers(0, 0xFFFFFFFF))),
    st.tuples(st.just("command_id"), st.one_of(unknown_id, unknown_id.map(
        lambda c: c | RESPONSE_BIT), st.sampled_from(sorted(KNOWN_IDS)))),
    st.tuples(st.just("truncate"), st.integers(1, 400)),
    st.tuples(st.just("tlv"), st.one_of(st.sampled_from((0x0424, 0x001E, 0x0204, 0x020C,
                                                          0x0005, 0x1400)),
                                        st.integers(0, 0xFFFF)),
              st.integers(0, 0xFFFF), st.binary(max_size=12)),
    st.tuples(st.just("tail"), st.binary(min_size=1, max_size=8)),
)


def mutate(frame, mutation):
    name, *args = mutation
    return getattr(Mutation, name)(frame, *args)


class Wire:
    """The client's side: the socket, the router's PDUs as (header, body) frames."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.eof = False

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:   # the router closed already: its reason is checked
            self.eof = True

    def next_frame(self):
        """The next complete frame from the router; None at end of stream.
        Fails when nothing arrives within ANSWER_WITHIN."""
        while True:
            if len(self.buffer) >= 16:
                length = HEADER.unpack_from(self.buffer)[0]
                assert length >= 16, "router sent command_length %d" % length
                if len(self.buffer) >= length:
                    frame, self.buffer = self.buffer[:length], self.buffer[length:]
                    return frame
            if self.eof:
                assert not self.buffer, "router closed in the middle of a PDU"
                return None
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise AssertionError("nothing from the router within %.0f s" % ANSWER_WITHIN)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
            self.buffer += data

    def close(self):
        self.sock.close()


class ServerSide:
    """Looks at the router's protocol object for one client connection, from
    the Hypothesis thread."""

    def __init__(self, service, client_port):
        self.service = service
        self.proto = _wait(lambda: blockingCallFromThread(reactor, self._find, client_port),
                           "the router's session for our connection")

    def _find(self, port):
        for factory in self.service.factories:
            for proto in factory.live:
                if proto.transport.getPeer().port == port:
                    return proto
        return None

    def close_reason(self):
        return blockingCallFromThread(reactor, lambda: self.proto.close_reason)

    def gone(self):
        return _wait(lambda: blockingCallFromThread(
            reactor, lambda: self.proto.session.state.name == "CLOSED" or None),
            "the router to see our connection end")


def _wait(predicate, what, timeout=ANSWER_WITHIN):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.0f s" % (what, timeout))
        time.sleep(0.002)   # polling the reactor's state: there is no event to wait on


class RouterFuzz(RuleBasedStateMachine):
    """One connection per example; `router` is set by the test."""
    router = None
    failures = None       # logged failures, appended by the test's observer

    def __init__(self):
        super().__init__()
        self.wire = Wire(self.router.port)
        self.server = ServerSide(self.router.service, self.wire.sock.getsockname()[1])
        self.max_length = self.router.service.factories[0].max_pdu_length
        self.sequence = itertools.count(1)
        self.unframed = b""                     # sent, not yet a whole frame by the length rule
        self.owed = collections.Counter()       # sequence_number -> requests to answer
        self.asked = collections.defaultdict(list)   # sequence_number -> command_ids asked
        self.optional = set()                   # outbind/alert_notification: answer optional
        self.expect = {}                        # sequence_number -> (command_id, status)
        self.bound = False
        self.v33 = False                        # bound speaking SMPP v3.3
        self.binds = {}                         # our binds' sequence numbers -> v3.3?
        self.unframeable = False
        self.closed = False
        self.deliveries = []                    # the router's deliver_sm sequence numbers

    # -- the rules

    @rule(pdu=requests)
    def request(self, pdu):
        self._send_pdu(pdu)

    @rule(cls=st.sampled_from(BINDS), user=st.sampled_from(sorted(PASSWORDS)),
          right=st.booleans(), version=st.sampled_from((0x34, 0x33, 0x50, 0)))
    def bind(self, cls, user, right, version):
        pdu = cls(system_id=user, password=PASSWORDS[user] if right else "nope",
                  interface_version=version)
        if self.bound and self.v33 and cls is P.BindTransceiver:
            # no such command in SMPP v3.3, which the session now speaks
            self.expect_status(pdu, Status.ESME_RINVCMDID, CommandId.generic_nack)
        elif self.bound:
            self.expect_status(pdu, Status.ESME_RALYBND)
        else:
            self.expect_status(pdu, None)
            self.binds[pdu.sequence_number] = version < 0x34 and cls is not P.BindTransceiver
        self._send_pdu(pdu)

    @rule(pdu=submit)
    def submit(self, pdu):
        if not self.bound:
            self.expect_status(pdu, Status.ESME_RINVBNDSTS)
        self._send_pdu(pdu)

    @rule()
    def enquire_link(self):
        pdu = P.EnquireLink()
        self.expect_status(pdu, Status.ESME_ROK)
        self._send_pdu(pdu)

    @rule(command_id=unknown_id)
    def unknown_command(self, command_id):
        seq = next(self.sequence)
        self.expect[seq] = (CommandId.generic_nack, Status.ESME_RINVCMDID)
        self._write(HEADER.pack(16, command_id, 0, seq))

    @rule(pdu=responses)
    def response_to_nothing(self, pdu):
        pdu.sequence_number = 0x7FFF0000 + next(self.sequence)
        self._write(codec.encode(pdu))

    @rule(pdu=requests, mutation=mutations)
    def mutated(self, pdu, mutation):
        pdu.sequence_number = next(self.sequence)
        self._write(mutate(codec.encode(pdu), mutation))

    @rule(data=st.binary(min_size=1, max_size=64))
    def garbage(self, data):
        self._write(data)

    @rule(length=st.integers(70001, 0xFFFFFFFF))
    def huge_length(self, length):
        self._write(HEADER.pack(length, CommandId.submit_sm, 0, next(self.sequence)))

    # No precondition on self.deliveries: when deliveries arrive depends on the
    # router's timing, and a precondition on it makes Hypothesis's replay of a
    # found failure draw differently ("inconsistent data generation") and hide it.
    @rule(status=st.sampled_from((Status.ESME_ROK, Status.ESME_RX_T_APPN, Status.ESME_RSYSERR,
                                  0x12345678)), cid=st.sampled_from((
                                      CommandId.deliver_sm_resp, CommandId.generic_nack,
                                      CommandId.submit_sm_resp)))
    def answer_delivery(self, status, cid):
        if not self.deliveries:
            return
        seq = self.deliveries.pop(0)
        body = b"\0" if cid != CommandId.generic_nack else b""
        self._write(HEADER.pack(16 + len(body), cid, status, seq) + body)

    @rule()
    def unbind(self):
        self._send_pdu(P.Unbind())

    # -- the model

    def expect_status(self, pdu, status, command_id=None):
        """The answer the spec gives (None: any status)."""
        pdu.sequence_number = next(self.sequence)
        self.expect[pdu.sequence_number] = (command_id or pdu.command_id | RESPONSE_BIT, status)

    def _send_pdu(self, pdu):
        if pdu.sequence_number not in self.expect:   # else numbered by expect_status
            pdu.sequence_number = next(self.sequence)
        self._write(codec.encode(pdu))

    def _write(self, data):
        if self.closed:
            return
        self.wire.send(data)
        self._frame(data)
        self._settle()

    def _frame(self, data):
        """What the router frames of the stream: the length rule of SMPP."""
        buf = self.unframed + data
        pos = 0
        while not self.unframeable and len(buf) - pos >= 4:
            length = struct.unpack_from(">I", buf, pos)[0]
            if length < 16 or length > self.max_length:
                self.unframeable = True
                break
            if len(buf) - pos < length:
                break
            _, cid, _, seq = HEADER.unpack_from(buf, pos)
            pos += length
            if cid & RESPONSE_BIT:
                continue
            if cid in UNANSWERED:
                self.optional.add(seq)
                continue
            self.owed[seq] += 1
            self.asked[seq].append(cid)
        self.unframed = buf[pos:]

    def _settle(self):
        """Read until every framed request is answered, or the router closes."""
        while (+self.owed or self.unframeable) and not self.closed:
            frame = self.wire.next_frame()
            if frame is None:
                self._closed()
                return
            self._received(frame)

    def _received(self, frame):
        length, cid, status, seq = HEADER.unpack_from(frame)
        if not cid & RESPONSE_BIT:
            if cid == CommandId.deliver_sm:
                self.deliveries.append(seq)
            elif cid == CommandId.enquire_link:
                self.wire.send(HEADER.pack(16, CommandId.enquire_link_resp, 0, seq))
            return
        if seq in self.optional and cid == CommandId.generic_nack:
            self.optional.discard(seq)
            return
        assert self.owed[seq] > 0 or self.unframeable, (
            "an answer to nothing asked: %s status 0x%X seq %d" % (_name(cid), status, seq))
        assert status in VALID_STATUSES and status not in IMPRECISE, (
            "imprecise status 0x%X in %s to %s" % (status, _name(cid),
                                                  [_name(c) for c in self.asked[seq]]))
        if cid == CommandId.generic_nack:
            assert status != Status.ESME_ROK, "generic_nack with ESME_ROK"
        elif self.owed[seq]:
            assert cid & ~RESPONSE_BIT in self.asked[seq], (
                "%s answers %s" % (_name(cid), [_name(c) for c in self.asked[seq]]))
        if self.owed[seq]:
            self.owed[seq] -= 1
        if seq in self.expect:
            want_cid, want_status = self.expect.pop(seq)
            if want_status is None:
                want_status = status
            assert (cid, status) == (want_cid, want_status), (
                "got %s status 0x%X, the spec says %s 0x%X" % (
                    _name(cid), status, _name(want_cid), want_status))
        if cid in _BIND_RESPS and status == Status.ESME_ROK:
            self.bound = True
            self.v33 = self.binds.get(seq, False)

    def _closed(self):
        self.closed = True
        reason = self.server.close_reason()
        assert reason, "the router closed the connection without a reason"

    def teardown(self):
        try:
            self.wire.close()
            self.server.gone()
            blockingCallFromThread(reactor, gc.collect)   # unhandled Deferred errors surface
            failures = list(self.failures)
            self.failures.clear()
            assert not failures, "the router logged:\n" + "\n\n".join(failures)
        finally:
            self.wire.close()


_BIND_RESPS = frozenset(cls.command_id | RESPONSE_BIT for cls in BINDS)


def _name(cid):
    try:
        return CommandId(cid).name
    except ValueError:
        return "0x%08X" % cid


def _run(machine, config):
    """run_state_machine_as_test, with the steps Hypothesis found (its
    exception notes, which trial does not print) in the message."""
    try:
        run_state_machine_as_test(machine, settings=config)
    except BaseException as e:
        notes = getattr(e, "__notes__", ())
        if notes:
            raise AssertionError("%s\n\n%s" % (e, "\n".join(notes))) from e
        raise


class FuzzTests(TestCase):
    # Passing, the fuzz takes ~5 s; a failure is shrunk for up to Hypothesis's
    # own limit (5 minutes) before it is reported, steps and all.
    timeout = 400

    def setUp(self):
        # Lockouts off: the fuzz should reach bound states however many
        # wrong passwords it sends (test_abuse covers the lockout).
        self.h = RouterHarness(smpp="session_init_timeout = 60\n",
                               extra="[security]\nbind_failures = 0\n")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_random_mutated_and_out_of_state_pdus(self):
        failures = []

        def observe(event):
            if event.get("log_failure") is not None or event.get("isError"):
                failures.append(formatEvent(event) + "\n" + (
                    event["log_failure"].getTraceback() if event.get("log_failure") else ""))
        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        machine = type("Fuzz", (RouterFuzz,), dict(router=self.h, failures=failures))
        config = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          suppress_health_check=list(HealthCheck), derandomize=False)
        d = threads.deferToThread(_run, machine, config)

        def check(_):
            self.assertEqual(self.flushLoggedErrors(), [])
        return d.addCallback(check)
