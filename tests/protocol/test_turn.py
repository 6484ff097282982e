"""Writes batched per reactor turn (protocol/base.py TurnWriter): what a turn
writes on a session goes to its transport in one write when the turn ends,
in order, before the connection is closed; a clock without turns writes at
once; on real TCP the turn's octets are sent at the flush itself."""

from twisted.internet import defer, endpoints, protocol, reactor, task
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from smpprouter.protocol.base import SMPPProtocol, turn_writer
from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.session import Role, Timers

from .helpers import connect

NO_TIMERS = Timers(session_init=None, enquire_link=None, inactivity=None, response=None)


class _Server(SMPPProtocol):
    role = Role.SMSC


def _session(clock):
    peer = connect(_Server(clock, NO_TIMERS))
    writes = []
    real = peer.transport.write
    peer.transport.write = lambda data: (writes.append(data), real(data))
    return peer, writes


class TurnWriterTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()

    def test_one_write_per_session_at_the_end_of_the_turn(self):
        a, a_writes = _session(self.reactor)
        b, b_writes = _session(self.reactor)
        a.send(P.EnquireLink(), P.EnquireLink(), P.EnquireLink())
        b.send(P.EnquireLink())
        a.send(P.EnquireLink())
        self.assertEqual((a_writes, b_writes), ([], []))
        self.reactor.advance(0)
        self.assertEqual(len(a_writes), 1)
        self.assertEqual(len(b_writes), 1)
        self.assertEqual([(p.command_id, p.sequence_number) for p in a.read()],
                         [(CommandId.enquire_link_resp, n) for n in (1, 2, 3, 4)])
        self.assertEqual([p.sequence_number for p in b.read()], [1])

    def test_the_next_turn_writes_again(self):
        a, writes = _session(self.reactor)
        a.send(P.EnquireLink())
        self.reactor.advance(0)
        a.send(P.EnquireLink())
        self.reactor.advance(0)
        self.assertEqual(len(writes), 2)
        self.assertEqual([p.sequence_number for p in a.read()], [1, 2])

    def test_close_writes_the_turn_first(self):
        a, _ = _session(self.reactor)
        a.send(P.EnquireLink())
        a.proto.close("test")
        self.assertEqual([p.sequence_number for p in a.read()], [1])
        self.assertTrue(a.closing)
        self.reactor.advance(0)
        self.assertEqual(a.read(), [])

    def test_a_lost_connection_drops_the_turn(self):
        a, writes = _session(self.reactor)
        a.send(P.EnquireLink())
        a.transport.loseConnection()   # the peer is gone: nothing to write to
        self.reactor.advance(0)
        self.assertEqual(writes, [])

    def test_one_writer_per_reactor(self):
        self.assertIs(turn_writer(self.reactor), turn_writer(self.reactor))
        self.assertIsNot(turn_writer(self.reactor), turn_writer(MemoryReactorClock()))

    def test_a_clock_without_turns_writes_at_once(self):
        self.assertIsNone(turn_writer(task.Clock()))
        a, writes = _session(task.Clock())
        a.send(P.EnquireLink(), P.EnquireLink())
        self.assertEqual(len(writes), 2)


class _Reader(protocol.Protocol):
    def __init__(self, size):
        self.size = size
        self.data = b""
        self.got = defer.Deferred()

    def dataReceived(self, data):
        self.data += data
        if len(self.data) >= self.size and not self.got.called:
            self.got.callback(self.data)


class RealTCPTests(TestCase):
    """On a real TCP connection the turn's octets leave at the flush itself
    (smpprouter/sending.py), not at the next poll, in order."""

    timeout = 10

    def test_the_turns_octets_are_sent_at_the_flush(self):
        async def go():
            servers, seen = [], []

            def make():
                proto = _Server(reactor, NO_TIMERS)
                flush = proto.flush

                def flushed():
                    had = proto._out is not None
                    flush()
                    if had:
                        t = proto.transport
                        seen.append((t.dataBuffer, t._tempDataLen, t in reactor.getWriters()))
                proto.flush = flushed
                servers.append(proto)
                return proto
            port = reactor.listenTCP(0, protocol.Factory.forProtocol(make),
                                     interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            answers = b"".join(codec.encode(P.EnquireLinkResp(sequence_number=n))
                               for n in (1, 2, 3))
            reader = _Reader(len(answers))
            client = await endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(
                reactor, "127.0.0.1", port.getHost().port), reader)
            self.addCleanup(client.transport.loseConnection)
            client.transport.write(b"".join(codec.encode(P.EnquireLink(sequence_number=n))
                                            for n in (1, 2, 3)))
            self.assertEqual(await reader.got, answers)
            self.assertTrue(seen)   # each flush (one, unless the chunk was split):
            self.assertEqual(set(seen), {(b"", 0, False)})   # nothing left to Twisted
            servers[0].transport.loseConnection()
        return defer.ensureDeferred(go())
