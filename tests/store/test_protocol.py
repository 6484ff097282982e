"""store/protocol.py FastProtocol: send_command's answers without a Deferred,
in one FIFO with txredisapi's own execute_command (no Redis: bytes in, bytes out)."""

import txredisapi
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest

from smpprouter.store.protocol import FastProtocol, encode_command


class _Connected(unittest.TestCase):
    def setUp(self):
        self.proto = FastProtocol(charset=None, convertNumbers=False)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)
        self.seen = []

    def done(self, reply, ctx):
        self.seen.append(("done", reply, ctx))

    def failed(self, error, ctx):
        self.seen.append(("failed", error, ctx))


class SendCommandTests(_Connected):
    def test_writes_the_command_and_hands_its_reply_over(self):
        self.proto.send_command([b"GET", "k"], self.done, self.failed, 1)
        self.assertEqual(self.transport.value(), encode_command([b"GET", "k"]))
        self.assertEqual(self.seen, [])
        self.proto.dataReceived(b"$3\r\nabc\r\n")
        self.assertEqual(self.seen, [("done", b"abc", 1)])

    def test_replies_follow_the_order_of_the_commands_whoever_wrote_them(self):
        self.proto.send_command([b"GET", b"a"], self.done, self.failed, "first")
        d = self.proto.execute_command(b"GET", b"b")
        self.proto.send_command([b"MGET", b"c"], self.done, self.failed, "third")
        got = []
        d.addCallback(got.append)
        # all three replies in one read: an integer, a bulk string, an array
        self.proto.dataReceived(b":7\r\n$1\r\nB\r\n*2\r\n$1\r\nC\r\n$-1\r\n")
        self.assertEqual(self.seen, [("done", 7, "first"), ("done", [b"C", None], "third")])
        self.assertEqual(got, [b"B"])

    def test_an_error_reply_goes_to_failed(self):
        self.proto.send_command([b"EVALSHA", b"x", 0], self.done, self.failed, 2)
        self.proto.dataReceived(b"-NOSCRIPT No matching script\r\n")
        [(kind, error, ctx)] = self.seen
        self.assertEqual((kind, ctx), ("failed", 2))
        self.assertIsInstance(error, txredisapi.ResponseError)
        self.assertTrue(str(error).startswith("NOSCRIPT"))

    def test_a_lost_connection_fails_what_is_unanswered(self):
        self.proto.send_command([b"GET", b"a"], self.done, self.failed, 1)
        d = self.proto.execute_command(b"GET", b"b")
        self.proto.send_command([b"GET", b"c"], self.done, self.failed, 3)
        errors = []
        d.addErrback(errors.append)
        self.proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual([(kind, ctx) for kind, _, ctx in self.seen],
                         [("failed", 1), ("failed", 3)])
        for _, error, _ in self.seen:
            self.assertIsInstance(error, txredisapi.ConnectionError)
        self.assertEqual(len(errors), 1)
        self.assertIsInstance(errors[0].value, txredisapi.ConnectionError)

    def test_not_connected_raises_and_writes_nothing(self):
        self.proto.connectionLost(Failure(ConnectionDone()))
        self.transport.clear()
        with self.assertRaises(txredisapi.ConnectionError):
            self.proto.send_command([b"GET", b"a"], self.done, self.failed, 1)
        self.assertEqual(self.transport.value(), b"")


class QueueCommandTests(_Connected):
    """A batch's commands queued, then written by one flush (redis.py _Flight)."""

    def setUp(self):
        super().setUp()
        writes = self.writes = []
        real = self.transport.write
        self.transport.write = lambda data: (writes.append(data), real(data))

    def test_nothing_is_written_before_the_flush_then_all_in_one_write(self):
        self.proto.queue_command([b"GET", b"a"], self.done, self.failed, 1)
        self.proto.queue_command([b"MGET", b"b", b"c"], self.done, self.failed, 2)
        self.assertEqual(self.writes, [])
        self.proto.flush()
        self.assertEqual(self.writes, [encode_command([b"GET", b"a"])
                                       + encode_command([b"MGET", b"b", b"c"])])
        self.proto.flush()   # nothing more queued: nothing written
        self.assertEqual(len(self.writes), 1)
        self.proto.dataReceived(b"$1\r\nA\r\n*2\r\n$1\r\nB\r\n$-1\r\n")
        self.assertEqual(self.seen, [("done", b"A", 1), ("done", [b"B", None], 2)])

    def test_txredisapis_command_goes_after_what_is_queued(self):
        self.proto.queue_command([b"GET", b"a"], self.done, self.failed, "first")
        d = self.proto.execute_command(b"GET", b"b")
        got = []
        d.addCallback(got.append)
        self.assertEqual(self.transport.value(), encode_command([b"GET", b"a"])
                         + encode_command([b"GET", b"b"]))
        self.proto.dataReceived(b"$1\r\nA\r\n$1\r\nB\r\n")
        self.assertEqual((self.seen, got), ([("done", b"A", "first")], [b"B"]))

    def test_a_lost_connection_fails_what_was_queued_and_drops_its_octets(self):
        self.proto.queue_command([b"GET", b"a"], self.done, self.failed, 1)
        self.proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual([(kind, ctx) for kind, _, ctx in self.seen], [("failed", 1)])
        self.proto.flush()
        self.assertEqual(self.writes, [])

    def test_not_connected_raises_and_queues_nothing(self):
        self.proto.connectionLost(Failure(ConnectionDone()))
        with self.assertRaises(txredisapi.ConnectionError):
            self.proto.queue_command([b"GET", b"a"], self.done, self.failed, 1)
        self.proto.flush()
        self.assertEqual(self.writes, [])
