"""RedisStore when Redis goes away, hangs, and comes back (own server per test)."""

import time

from twisted.internet import defer
from twisted.trial import unittest

from smpprouter.store.errors import StoreUnavailable
from smpprouter.store.interface import Mapping
from smpprouter.store.redis import RedisStore
from tests.redis_server import RedisServer

from .support import retry_until_ok, wait_for
from .test_outbound import outbound_calls

M = Mapping("r1", "acme", "src", "dst", 1795000000.5, 1, 1)


class OutageTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.server = RedisServer().start()
        self.addCleanup(self.server.cleanup)

    @defer.inlineCallbacks
    def store(self, **kw):
        store = RedisStore(self.server.host, self.server.port, instance="node-1", **kw)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    def all_calls(self, store):
        return [store.save_mapping("c", "2", M, 60), store.get_mapping("c", "1"),
                store.enqueue("acme", b"x"), store.claim("acme", None, 10),
                store.pending("acme"), store.reclaim("acme", None, 0, 10),
                store.ack("acme", "1-1"), store.allocate_id_block()] + outbound_calls(store)

    @defer.inlineCallbacks
    def assert_all_unavailable(self, calls, within):
        t0 = time.monotonic()
        results = yield defer.DeferredList(calls, consumeErrors=True)
        for ok, f in results:
            self.assertFalse(ok)
            f.trap(StoreUnavailable)
        self.assertLess(time.monotonic() - t0, within)

    @defer.inlineCallbacks
    def test_redis_down_fails_promptly_and_back_again_with_its_data(self):
        store = yield self.store(reconnect_max_delay=0.5)
        calls = []
        yield store.save_mapping("c", "1", M, 3600)
        entry_id = yield store.enqueue("acme", b"receipt")
        yield store.subscribe("acme", calls.append)
        yield wait_for(lambda: calls == ["acme"])

        self.server.stop()
        # in flight or not, every call fails with StoreUnavailable, fast
        yield self.assert_all_unavailable(self.all_calls(store), within=1.0)
        yield wait_for(lambda: store._connection() is None)
        yield self.assert_all_unavailable(self.all_calls(store), within=0.5)

        self.server.start()    # same port, same data dir: the AOF is read back
        got = yield retry_until_ok(lambda: store.get_mapping("c", "1"))
        self.assertEqual(got, M)
        claimed = yield store.claim("acme", None, 10)
        self.assertEqual([(d.entry_id, d.payload) for d in claimed], [(entry_id, b"receipt")])
        # the subscription came back, with a catch-up call
        yield wait_for(lambda: calls == ["acme", "acme"])

    @defer.inlineCallbacks
    def test_a_hung_redis_times_out_and_recovers(self):
        store = yield self.store(timeout=0.5, reconnect_max_delay=0.5)
        yield store.save_mapping("c", "1", M, 3600)
        self.server.pause()
        try:
            yield self.assert_all_unavailable(self.all_calls(store), within=2.0)
        finally:
            self.server.resume()
        got = yield retry_until_ok(lambda: store.get_mapping("c", "1"))
        self.assertEqual(got, M)

    @defer.inlineCallbacks
    def test_outbound_queue_survives_an_outage(self):
        store = yield self.store(reconnect_max_delay=0.5)
        calls = []
        yield store.subscribe_outbound("smsc", calls.append)
        yield store.enqueue_outbound("smsc", "m0", "acme", b"x", 0, None, 3600)
        yield wait_for(lambda: len(calls) == 2)
        self.server.stop()
        yield wait_for(lambda: store._connection() is None)
        self.server.start()
        got = yield retry_until_ok(lambda: store.take_outbound("smsc", None, 10))
        self.assertEqual([e.message_id for e in got], ["m0"])
        yield wait_for(lambda: len(calls) == 3)    # resubscribed, with a catch-up call

    @defer.inlineCallbacks
    def test_subscribe_while_down_is_kept_for_later(self):
        store = yield self.store(reconnect_max_delay=0.5)
        other = RedisStore(self.server.host, self.server.port)
        self.server.stop()
        yield wait_for(lambda: store._connection() is None)
        calls = []
        yield self.assertFailure(store.subscribe("acme", calls.append), StoreUnavailable)
        self.server.start()
        yield wait_for(lambda: calls == ["acme"])     # subscribed once back
        yield other.start()
        self.addCleanup(other.stop)
        yield other.enqueue("acme", b"x")
        yield wait_for(lambda: calls == ["acme", "acme"])

    @defer.inlineCallbacks
    def test_restart_keeps_what_was_acknowledged_to_callers(self):
        """AOF with appendfsync everysec and a clean shutdown: every write whose
        Deferred fired is there after a restart (a kill -9 may lose ~1 s)."""
        store = yield self.store(reconnect_max_delay=0.5)
        yield defer.gatherResults([store.save_mapping("c", f"{i}", M, 3600)
                                   for i in range(500)])
        ids = yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(200)])
        self.server.restart()
        got = yield retry_until_ok(lambda: store.get_mapping("c", "499"))
        self.assertEqual(got, M)
        self.assertEqual(self.server.command("DBSIZE"), 501)
        claimed = yield store.claim("acme", None, 1000)
        self.assertEqual([d.entry_id for d in claimed], ids)

    @defer.inlineCallbacks
    def test_stop_while_redis_hangs_is_bounded(self):
        store = RedisStore(self.server.host, self.server.port, timeout=0.5)
        yield store.start()
        self.server.pause()
        self.addCleanup(self.server.resume)
        saved = store.save_mapping("c", "1", M, 60)
        t0 = time.monotonic()
        yield store.stop()
        self.assertLess(time.monotonic() - t0, 2.0)
        yield self.assertFailure(saved, StoreUnavailable)

    @defer.inlineCallbacks
    def test_available_follows_redis_down_and_back(self):
        store = yield self.store()
        self.assertTrue(store.available)
        self.server.stop()
        yield wait_for(lambda: not store.available)
        self.server.start()
        t0 = time.monotonic()
        yield wait_for(lambda: store.available, timeout=5)
        self.assertLess(time.monotonic() - t0, 2.0)   # the reconnect backs off to 0.5 s

    @defer.inlineCallbacks
    def test_a_timed_out_batch_makes_it_unavailable_until_redis_answers(self):
        store = yield self.store(timeout=0.3)
        self.server.pause()
        try:
            yield self.assertFailure(store.get_mapping("c", "1"), StoreUnavailable)
            self.assertFalse(store.available)     # however the connection looks now
        finally:
            self.server.resume()
        yield wait_for(lambda: store.available, timeout=5)
