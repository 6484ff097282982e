"""[redis] wait_replicas against a real primary and replica: no answer before the
replica has the write, one WAIT per flush, and a replica that stops answering
turns the store unavailable until it answers again."""

import atexit

from twisted.internet import defer
from twisted.trial import unittest

from smpprouter.store.errors import StoreUnavailable
from smpprouter.store.redis import RedisStore
from tests.redis_server import RedisServer

from .support import wait_for
from .test_redis import mapping, settle

_pair = None


def pair():
    """(primary, replica) for the module, the replica in sync."""
    global _pair
    if _pair is None:
        primary = RedisServer().start()
        replica = RedisServer(extra_args=["--replicaof", primary.host, str(primary.port)])
        atexit.register(primary.cleanup)
        atexit.register(replica.cleanup)
        replica.start()
        _pair = primary, replica
    return _pair


def linked(replica):
    return replica.info("replication").get("master_link_status") == "up"


def following(replica):
    """Fires once replica runs, unpaused, linked to its primary again (a test
    before may have stopped or paused it)."""
    if not replica.running:
        replica.start()
    replica.resume()
    return wait_for(lambda: linked(replica), 10)


class WaitTests(unittest.TestCase):
    timeout = 30

    def setUp(self):
        self.primary, self.replica = pair()
        self.primary.command("FLUSHALL")
        return following(self.replica)

    @defer.inlineCallbacks
    def make_store(self, **kwargs):
        store = RedisStore(self.primary.host, self.primary.port, **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    @defer.inlineCallbacks
    def test_answered_once_the_replica_has_it(self):
        store = yield self.make_store(wait_replicas=1)
        before = self.primary.command_calls().get("wait", 0)
        yield defer.gatherResults([store.save_mapping("smsc", "u%d" % i, mapping(i), 60)
                                   for i in range(50)])
        # WAIT answered: the replica has applied every write before it
        self.assertEqual(self.replica.command("EXISTS", *["map:{smsc}:u%d" % i
                                                          for i in range(50)]), 50)
        self.assertEqual(self.primary.command_calls()["wait"] - before, 1)   # one per flush

    @defer.inlineCallbacks
    def test_no_wait_when_off(self):
        store = yield self.make_store()
        before = self.primary.command_calls().get("wait", 0)
        yield store.save_mapping("smsc", "u", mapping(), 60)
        self.assertEqual(self.primary.command_calls().get("wait", 0), before)

    @defer.inlineCallbacks
    def test_a_silent_replica_fails_the_batch_and_the_store_until_it_answers(self):
        store = yield self.make_store(wait_replicas=1, wait_timeout=0.2)
        self.replica.pause()
        results = yield settle([store.save_mapping("smsc", "u%d" % i, mapping(i), 60)
                                for i in range(3)] + [store.get_mapping("smsc", "u0")])
        for result in results:   # reads of the flush too: nothing in it is promised
            self.assertIsInstance(result, StoreUnavailable)
            self.assertIn("0 of 1 replicas acknowledged within 200 ms", str(result))
        self.assertFalse(store.available)
        self.assertEqual(store.errors["unreplicated"], 1)
        self.replica.resume()
        yield wait_for(lambda: store.available, 10)   # its probe waited for the replica
        yield store.save_mapping("smsc", "again", mapping(), 60)
        self.assertEqual(self.replica.command("EXISTS", "map:{smsc}:again"), 1)

    @defer.inlineCallbacks
    def test_errors_are_not_held(self):
        store = yield self.make_store(wait_replicas=1)
        self.primary.command("SET", "notahash", "x")
        results = yield settle([store._command(b"HGET", b"notahash", b"f"),
                                store.save_mapping("smsc", "u", mapping(), 60)])
        self.assertIn("WRONGTYPE", str(results[0]))
        self.assertIsNone(results[1])


class ReadOnlyTests(unittest.TestCase):
    """A node that turned replica under a static url (or before the sentinels
    said so): its READONLY refusal reads as Redis away, and the connection is
    dropped so the next one is made afresh."""

    timeout = 30

    def setUp(self):
        self.primary, self.replica = pair()
        return following(self.replica)

    @defer.inlineCallbacks
    def test_readonly_is_unavailable_and_reconnects(self):
        store = RedisStore(self.replica.host, self.replica.port)
        yield store.start()
        self.addCleanup(store.stop)
        first = store._connection()
        results = yield settle([store.save_mapping("smsc", "u", mapping(), 60)])
        self.assertIsInstance(results[0], StoreUnavailable)
        self.assertIn("READONLY", str(results[0]))
        self.assertFalse(store.available)
        yield wait_for(lambda: store._connection() not in (None, first), 10)
