"""Writes batched per reactor turn (protocol/base.py TurnWriter): what a turn
writes on a session goes to its transport in one write when the turn ends,
in order, before the connection is closed; a clock without turns writes at once."""

from twisted.internet import task
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.protocol.base import SMPPProtocol, turn_writer
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
