"""RedisStore against a real redis-server: the key contract, batching, queues."""

import random
import time

from twisted.internet import defer
from zope.interface.verify import verifyObject

from smpprouter.store import keys
from smpprouter.store.embedded import free_port
from smpprouter.store.errors import CorruptValue, QueueFull, StoreUnavailable
from smpprouter.store.interface import Delivery, ICorrelationStore, Mapping
from smpprouter.store.redis import RedisStore
from smpprouter.store.then import Then

from .support import StoreTestCase, wait_for

ODD = "nul\x00 nl\n cr\r tab\t quote\" back\\ brace{} colon: é ü 中文 🙂 \ud800 \x7f end"


def mapping(i=0, **kw):
    fields = dict(message_id=f"r{i:08d}", user="acme", source_addr="MyBrand",
                  destination_addr="447700900123", submitted_at=1795000000.5 + i,
                  parts=1, registered_delivery=1)
    fields.update(kw)
    return Mapping(**fields)


def settle(ds):
    """Results and failures of Deferreds in order: value or the exception."""
    out = defer.DeferredList(ds, consumeErrors=True)
    return out.addCallback(lambda rs: [v if ok else v.value for ok, v in rs])


class MappingTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_provides_the_interface(self):
        store = yield self.make_store()
        self.assertTrue(verifyObject(ICorrelationStore, store))

    @defer.inlineCallbacks
    def test_round_trip_with_odd_characters(self):
        store = yield self.make_store()
        m = Mapping(ODD, ODD, ODD, ODD, 1795000000.123456, 3, 17)
        yield store.save_mapping(ODD, ODD, m, 3600)
        got = yield store.get_mapping(ODD, ODD)
        self.assertEqual(got, m)
        self.assertEqual(type(got.submitted_at), float)

    @defer.inlineCallbacks
    def test_one_string_with_ttl(self):
        store = yield self.make_store()
        yield store.save_mapping("smsc1", "abc123", mapping(), 7200)
        key = "map:{smsc1}:abc123"
        self.assertEqual(self.server.command("TYPE", key), "string")
        self.assertTrue(7190 <= self.server.command("TTL", key) <= 7200)

    @defer.inlineCallbacks
    def test_missing_is_none(self):
        store = yield self.make_store()
        self.assertIsNone((yield store.get_mapping("smsc1", "nope")))

    @defer.inlineCallbacks
    def test_each_caller_gets_its_own_result(self):
        store = yield self.make_store()
        yield defer.gatherResults([store.save_mapping("a", str(i), mapping(i), 60)
                                   for i in range(0, 20, 2)])
        got = yield defer.gatherResults([store.get_mapping("a", str(i)) for i in range(20)])
        self.assertEqual(got, [mapping(i) if i % 2 == 0 else None for i in range(20)])

    @defer.inlineCallbacks
    def test_save_then_get_in_the_same_turn(self):
        store = yield self.make_store()
        saved = store.save_mapping("a", "x", mapping(), 60)
        got = yield store.get_mapping("a", "x")
        yield saved
        self.assertEqual(got, mapping())

    @defer.inlineCallbacks
    def test_a_corrupt_value_fails_only_its_caller(self):
        store = yield self.make_store()
        self.server.command("SET", "map:{a}:bad", "not json")
        yield store.save_mapping("a", "good", mapping(), 60)
        got = yield settle([store.get_mapping("a", "bad"), store.get_mapping("a", "good")])
        self.assertIsInstance(got[0], CorruptValue)
        self.assertEqual(got[1], mapping())

    @defer.inlineCallbacks
    def test_ttl_must_be_positive(self):
        store = yield self.make_store()
        yield self.assertFailure(store.save_mapping("a", "x", mapping(), 0), ValueError)


class BatchingTests(StoreTestCase):
    """Calls made in one reactor turn go to Redis as one command per connector/user."""

    @defer.inlineCallbacks
    def test_saves_of_one_turn_are_one_script_per_connector(self):
        store = yield self.make_store()
        before, flushes, commands = self.server.command_calls(), store.flushes, store.commands
        yield defer.gatherResults(
            [store.save_mapping("smsc1", f"u{i}", mapping(i), 60) for i in range(100)]
            + [store.save_mapping("smsc2", f"u{i}", mapping(i), 60) for i in range(50)])
        after = self.server.command_calls()
        self.assertEqual(store.flushes - flushes, 1)
        self.assertEqual(store.commands - commands, 2)
        self.assertEqual(after.get("evalsha", 0) - before.get("evalsha", 0), 2)
        self.assertEqual(self.server.command("DBSIZE"), 150)

    @defer.inlineCallbacks
    def test_each_mapping_keeps_its_ttl_when_a_batch_has_several(self):
        """A batch's one ttl is passed once; one that differs makes each its own,
        with or without records, in one chunk or several."""
        for max_batch in (1000, 3):
            store = yield self.make_store(max_batch=max_batch)
            ttls = [60, 60, 600, 60, 3600, 60, 60]
            yield defer.gatherResults(
                [store.save_mapping("a", f"t{max_batch}-{i}", mapping(i), ttl)
                 for i, ttl in enumerate(ttls)]
                + [store.save_mapping("b", f"t{max_batch}-{i}", mapping(i), ttl, record=True)
                   for i, ttl in enumerate(ttls)])
            for c in ("a", "b"):
                got = [self.server.command("TTL", f"map:{{{c}}}:t{max_batch}-{i}")
                       for i in range(len(ttls))]
                self.assertTrue(all(ttl - 5 <= t <= ttl for t, ttl in zip(got, ttls)),
                                (c, max_batch, got))
            found = yield defer.gatherResults([store.get_mapping("b", f"t{max_batch}-{i}")
                                               for i in range(len(ttls))])
            self.assertEqual(found, [mapping(i) for i in range(len(ttls))])

    @defer.inlineCallbacks
    def test_gets_of_one_turn_are_one_mget_per_connector(self):
        store = yield self.make_store()
        before = self.server.command_calls()
        yield defer.gatherResults([store.get_mapping("smsc1", f"u{i}") for i in range(100)])
        after = self.server.command_calls()
        self.assertEqual(after["mget"] - before.get("mget", 0), 1)
        self.assertEqual(after.get("get", 0), before.get("get", 0))   # no GET one by one

    @defer.inlineCallbacks
    def test_enqueues_and_acks_of_one_turn_are_one_script_per_user(self):
        store = yield self.make_store()
        commands = store.commands
        ids = yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(30)])
        self.assertEqual(store.commands - commands, 1)
        self.assertEqual(len(set(ids)), 30)
        got = yield store.claim("acme", "n1", 100)
        commands = store.commands
        yield defer.gatherResults([store.ack("acme", d.entry_id) for d in got])
        self.assertEqual(store.commands - commands, 1)
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 0)

    @defer.inlineCallbacks
    def test_batches_are_split_at_max_batch(self):
        store = yield self.make_store(max_batch=10)
        commands = store.commands
        yield defer.gatherResults([store.save_mapping("a", f"{i}", mapping(i), 60)
                                   for i in range(25)])
        self.assertEqual(store.commands - commands, 3)
        got = yield defer.gatherResults([store.get_mapping("a", f"{i}") for i in range(25)])
        self.assertEqual(got, [mapping(i) for i in range(25)])

    @defer.inlineCallbacks
    def test_scripts_come_back_after_script_flush(self):
        """Redis 7 forgets scripts on restart (6.2 keeps SCRIPT LOADs in the AOF)."""
        store = yield self.make_store()
        self.server.command("SCRIPT", "FLUSH")
        evals = self.server.command_calls().get("eval", 0)   # the server is shared
        yield defer.gatherResults([store.save_mapping("a", "1", mapping(), 60),
                                   store.enqueue("acme", b"x")])
        calls = self.server.command_calls()
        self.assertEqual(calls["eval"] - evals, 2)
        commands = store.commands
        yield store.save_mapping("a", "2", mapping(), 60)
        self.assertEqual(store.commands - commands, 1)
        self.assertEqual(self.server.command_calls()["eval"] - evals, 2)

    @defer.inlineCallbacks
    def test_stop_flushes_what_was_asked(self):
        store = RedisStore(self.server.host, self.server.port)
        yield store.start()
        saved = store.save_mapping("a", "late", mapping(), 60)
        yield store.stop()
        yield saved
        self.assertEqual(self.server.command("EXISTS", "map:{a}:late"), 1)


class QueueTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_enqueue_claim_ack(self):
        store = yield self.make_store()
        entry_id = yield store.enqueue("acme", b"\x00deliver_sm\xff")
        got = yield store.claim("acme", "node-1", 10)
        self.assertEqual(got, [Delivery(entry_id, b"\x00deliver_sm\xff")])
        self.assertEqual((yield store.claim("acme", "node-1", 10)), [])
        yield store.ack("acme", entry_id)
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 0)
        self.assertEqual(self.server.command("XPENDING", "dlv:{acme}", "dlv")[0], 0)
        self.assertEqual((yield store.pending("acme", "node-1")), [])

    @defer.inlineCallbacks
    def test_claim_splits_entries_between_consumers(self):
        store = yield self.make_store()
        yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(6)])
        a = yield store.claim("acme", "a", 4)
        b = yield store.claim("acme", "b", 4)
        self.assertEqual([d.payload for d in a + b], [b"%d" % i for i in range(6)])

    @defer.inlineCallbacks
    def test_claim_of_a_user_with_no_queue(self):
        store = yield self.make_store()
        self.assertEqual((yield store.claim("nobody", "n1", 10)), [])
        self.assertEqual((yield store.pending("nobody", "n1")), [])
        self.assertEqual((yield store.reclaim("nobody", "n1", 0, 10)), [])
        self.assertEqual(self.server.command("EXISTS", "dlv:{nobody}"), 0)

    @defer.inlineCallbacks
    def test_entries_added_before_the_group_existed_are_delivered(self):
        store = yield self.make_store()
        self.server.command("XADD", "dlv:{old}", "*", "p", "early")
        got = yield store.claim("old", "n1", 10)
        self.assertEqual([d.payload for d in got], [b"early"])

    @defer.inlineCallbacks
    def test_pending_after_a_restart_with_the_same_consumer_name(self):
        first = RedisStore(self.server.host, self.server.port, instance="node-1")
        yield first.start()
        yield first.enqueue("acme", b"receipt")
        claimed = yield first.claim("acme", None, 10)
        yield first.stop()       # "crash" before the deliver_sm_resp
        second = yield self.make_store(instance="node-1")
        self.assertEqual((yield second.claim("acme", None, 10)), [])
        self.assertEqual((yield second.pending("acme")), claimed)
        yield second.ack("acme", claimed[0].entry_id)
        self.assertEqual((yield second.pending("acme")), [])

    @defer.inlineCallbacks
    def test_reclaim_takes_over_idle_entries_of_another_consumer(self):
        store = yield self.make_store()
        other = yield self.make_store()
        yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(5)])
        claimed = yield store.claim("acme", "dead", 10)
        self.assertEqual((yield other.reclaim("acme", "alive", 60_000, 10)), [])
        got = yield other.reclaim("acme", "alive", 0, 10)
        self.assertEqual(got, claimed)
        self.assertEqual((yield other.pending("acme", "alive")), claimed)
        self.assertEqual((yield other.pending("acme", "dead")), [])

    @defer.inlineCallbacks
    def test_reclaim_follows_the_cursor_up_to_count(self):
        store = yield self.make_store()
        yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(30)])
        yield store.claim("acme", "dead", 30)
        got = yield store.reclaim("acme", "alive", 0, 25)
        self.assertEqual([d.payload for d in got], [b"%d" % i for i in range(25)])

    @defer.inlineCallbacks
    def test_max_queue_refuses_instead_of_trimming(self):
        store = yield self.make_store(max_queue=5)
        results = yield settle([store.enqueue("acme", b"%d" % i) for i in range(7)])
        self.assertEqual([isinstance(r, str) for r in results], [True] * 5 + [False] * 2)
        self.assertIsInstance(results[5], QueueFull)
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 5)
        # claimed but unacknowledged entries still count: they are still owed
        got = yield store.claim("acme", "n1", 2)
        yield self.assertFailure(store.enqueue("acme", b"more"), QueueFull)
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 5)
        yield store.ack("acme", got[0].entry_id)
        yield store.enqueue("acme", b"fits")
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 5)
        all_payloads = [d.payload for d in (yield store.pending("acme", "n1"))]
        all_payloads += [d.payload for d in (yield store.claim("acme", "n1", 10))]
        self.assertEqual(all_payloads, [b"1", b"2", b"3", b"4", b"fits"])

    @defer.inlineCallbacks
    def test_retention_ttl_is_set_and_refreshed(self):
        store = yield self.make_store(retention=3600)
        yield store.enqueue("acme", b"x")
        self.server.command("PEXPIRE", "dlv:{acme}", 1000)
        yield store.enqueue("acme", b"y")
        self.assertTrue(3_590_000 <= self.server.command("PTTL", "dlv:{acme}") <= 3_600_000)

    @defer.inlineCallbacks
    def test_a_user_may_have_a_retention_of_its_own(self):
        store = yield self.make_store(retention=3600, retentions={"vip": 86400})
        yield store.enqueue("acme", b"x")
        yield store.enqueue("vip", b"x")
        self.assertLessEqual(self.server.command("PTTL", "dlv:{acme}"), 3_600_000)
        self.assertGreater(self.server.command("PTTL", "dlv:{vip}"), 86_000_000)

    @defer.inlineCallbacks
    def test_one_stream_and_group_per_user(self):
        store = yield self.make_store()
        yield store.enqueue("acme", b"x")
        self.assertEqual(self.server.command("TYPE", "dlv:{acme}"), "stream")
        groups = self.server.command("XINFO", "GROUPS", "dlv:{acme}")
        self.assertEqual([g[1] for g in groups], ["dlv"])


class NotificationTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_enqueue_from_another_process_calls_back(self):
        here = yield self.make_store()
        there = yield self.make_store()
        calls = []
        yield here.subscribe("acme", calls.append)
        yield wait_for(lambda: calls == ["acme"])   # once when it takes effect
        yield there.enqueue("acme", b"receipt")
        yield wait_for(lambda: calls == ["acme", "acme"])
        self.assertEqual([d.payload for d in (yield here.claim("acme", "n", 10))], [b"receipt"])

    @defer.inlineCallbacks
    def test_unsubscribe_stops_the_callbacks(self):
        here = yield self.make_store()
        there = yield self.make_store()
        calls = []
        yield here.subscribe("a", calls.append)
        yield here.subscribe("b", calls.append)
        yield wait_for(lambda: sorted(calls) == ["a", "b"])
        del calls[:]
        yield here.unsubscribe("a")
        yield there.enqueue("a", b"x")
        yield there.enqueue("b", b"y")
        # pub/sub keeps order on one connection: "a" would have come first
        yield wait_for(lambda: calls == ["b"])

    @defer.inlineCallbacks
    def test_a_failing_callback_does_not_stop_the_others(self):
        here = yield self.make_store()
        calls = []

        def boom(user):
            raise RuntimeError("callback bug")
        yield here.subscribe("a", boom)
        yield here.subscribe("b", calls.append)
        yield here.enqueue("a", b"x")
        yield here.enqueue("b", b"y")
        yield wait_for(lambda: calls == ["b", "b"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)


class IdTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_unique_across_two_stores(self):
        a = yield self.make_store()
        b = yield self.make_store()
        ids = yield defer.gatherResults([s.allocate_id_block() for _ in range(50) for s in (a, b)])
        ids += yield defer.gatherResults([a.allocate_id_block(), b.allocate_id_block()])
        self.assertEqual(len(set(ids)), 102)
        self.assertEqual(self.server.command("GET", keys.IDS), "102")


class LifecycleTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_calls_fail_before_start_and_after_stop(self):
        store = RedisStore(self.server.host, self.server.port)
        yield self.assertFailure(store.get_mapping("a", "b"), StoreUnavailable)
        yield store.start()
        yield store.stop()
        yield self.assertFailure(store.enqueue("a", b"b"), StoreUnavailable)
        yield self.assertFailure(store.subscribe("a", print), StoreUnavailable)

    @defer.inlineCallbacks
    def test_start_fails_promptly_when_nothing_listens(self):
        store = RedisStore("127.0.0.1", free_port(), timeout=5)
        t0 = time.monotonic()
        e = yield self.assertFailure(store.start(), StoreUnavailable)
        self.assertLess(time.monotonic() - t0, 2)
        self.assertIn("127.0.0.1", str(e))

    @defer.inlineCallbacks
    def test_wrong_password_fails_start(self):
        self.server.command("CONFIG", "SET", "requirepass", "sesame")
        self.server.password = "sesame"

        def no_password():
            self.server.command("CONFIG", "SET", "requirepass", "")
            self.server.password = None
        self.addCleanup(no_password)
        store = RedisStore(self.server.host, self.server.port, password="wrong", timeout=2)
        yield self.assertFailure(store.start(), StoreUnavailable)
        good = RedisStore(self.server.host, self.server.port, password="sesame")
        yield good.start()
        yield good.save_mapping("a", "b", mapping(), 60)
        self.assertEqual((yield good.get_mapping("a", "b")), mapping())
        yield good.stop()


class UnixSocketAndACLTests(StoreTestCase):
    """A Redis reached only through a UNIX socket, as an ACL user."""

    def setUp(self):
        import os
        import tempfile
        from tests.redis_server import RedisServer
        directory = tempfile.mkdtemp(prefix="smpprouter-redis-unix-")
        self.socket = os.path.join(directory, "redis.sock")
        self.server = RedisServer(directory, extra_args=[
            "--unixsocket", self.socket, "--unixsocketperm", "700",
            "--user", "router", "on", ">s3cret", "~*", "&*", "+@all",
            "--user", "default", "off"])
        # The harness probes over TCP as the default user; turn it off after start.
        self.server.extra_args = self.server.extra_args[:-3]
        self.server.start()
        self.addCleanup(self.server.cleanup)
        self.server.command("ACL", "SETUSER", "default", "off")

    @defer.inlineCallbacks
    def test_store_works_over_a_unix_socket_with_a_username(self):
        store = RedisStore(None, None, username="router", password="s3cret",
                           unix_socket=self.socket)
        yield store.start()
        self.addCleanup(store.stop)
        mapping = Mapping("abc", "esme1", "src", "dst", 1.0)
        yield store.save_mapping("smsc", "1", mapping, 60)
        self.assertEqual((yield store.get_mapping("smsc", "1")), mapping)

    @defer.inlineCallbacks
    def test_wrong_password_fails_start_clearly(self):
        store = RedisStore(None, None, username="router", password="nope",
                           unix_socket=self.socket)
        with self.assertRaises(StoreUnavailable):
            yield store.start()


class PlainFormTests(StoreTestCase):
    """The hot calls' Deferred-free forms (store/then.py) against Redis."""

    @staticmethod
    def then():
        d = defer.Deferred()
        return Then(lambda r: d.callback(r), lambda f: d.callback(f.value)), d

    @defer.inlineCallbacks
    def test_save_get_enqueue_ack_answer_their_then(self):
        store = yield self.make_store(max_queue=1)
        saved, d1 = self.then()
        store.save_mapping_then(saved, "c", "u1", mapping(), 60, True)
        got, d2 = self.then()
        store.get_mapping_then(got, "c", "u1", "2")
        queued, d3 = self.then()
        store.enqueue_then(queued, "acme", b"p1")
        full, d4 = self.then()
        store.enqueue_then(full, "acme", b"p2")
        self.assertFalse(saved.called or got.called or queued.called or full.called)
        results = yield defer.gatherResults([d1, d2, d3, d4])
        self.assertIsNone(results[0])
        self.assertEqual(results[1], mapping())
        key, field = keys.record("c", "r00000000")
        self.assertEqual(self.server.command("HGET", key, field)[:2], "2,")
        self.assertIsInstance(results[3], QueueFull)
        entries = yield store.claim("acme")
        self.assertEqual(entries, [Delivery(results[2], b"p1")])
        acked, d5 = self.then()
        store.ack_then(acked, "acme", results[2])
        self.assertIsNone((yield d5))
        self.assertEqual(self.server.command("XLEN", "dlv:{acme}"), 0)

    @defer.inlineCallbacks
    def test_a_stopped_store_answers_at_once(self):
        store = yield self.make_store()
        yield store.stop()
        for call, args in ((store.save_mapping_then, ("c", "u", mapping(), 60)),
                           (store.get_mapping_then, ("c", "u")),
                           (store.enqueue_then, ("acme", b"p")),
                           (store.ack_then, ("acme", "1-0"))):
            then, d = self.then()
            call(then, *args)
            self.assertTrue(then.called)
            self.assertIsInstance((yield d), StoreUnavailable)


class _Taker:
    """What Deliveries gives deliver_here: room, consumer, take."""

    def __init__(self, room, consumer="p1"):
        self.space = room
        self.consumer = consumer
        self.taken = []
        self.arrived = defer.Deferred()   # fires at the first take

    def room(self):
        return self.space

    def take(self, entries):
        self.taken.append(entries)
        if not self.arrived.called:
            self.arrived.callback(None)


class HandOverTests(StoreTestCase):
    """An enqueue for a user this process delivers to hands the new entries over
    in its own script (deliver_here): no notification, no read of its own."""

    @defer.inlineCallbacks
    def subscribed(self, store, *users):
        calls = []
        for user in users:
            yield store.subscribe(user, calls.append)
        yield wait_for(lambda: sorted(calls) == sorted(users))   # once each when subscribed
        del calls[:]
        return calls

    def pending(self, consumer):
        reply = self.server.command("XPENDING", "dlv:{acme}", "dlv", "-", "+", 100, consumer)
        return [entry[0] for entry in reply]

    @defer.inlineCallbacks
    def test_the_entries_are_handed_over_pending_for_the_consumer_and_not_announced(self):
        store = yield self.make_store()
        other = yield self.make_store()   # another process, subscribed too
        calls = yield self.subscribed(other, "acme", "marker")
        taker = _Taker(10)
        store.deliver_here("acme", taker)
        ids = yield defer.gatherResults([store.enqueue("acme", b"r1"),
                                         store.enqueue("acme", b"r2")])
        yield taker.arrived   # just after the enqueuers hear: the upstream is answered first
        self.assertEqual(taker.taken, [[Delivery(ids[0], b"r1"), Delivery(ids[1], b"r2")]])
        self.assertEqual(self.pending("p1"), ids)
        # pub/sub keeps order on one connection: acme's would have come first
        yield store.enqueue("marker", b"x")
        yield wait_for(lambda: calls == ["marker"])
        self.assertEqual((yield other.claim("acme", "p2")), [])
        self.assertEqual((yield store.pending("acme", "p1")),
                         [Delivery(ids[0], b"r1"), Delivery(ids[1], b"r2")])

    @defer.inlineCallbacks
    def test_what_does_not_fit_the_room_is_left_unread_and_announced(self):
        store = yield self.make_store()
        calls = yield self.subscribed(store, "acme")
        taker = _Taker(2)
        store.deliver_here("acme", taker)
        ids = yield defer.gatherResults([store.enqueue("acme", b"r%d" % i) for i in range(3)])
        yield taker.arrived
        self.assertEqual(taker.taken, [[Delivery(ids[0], b"r0"), Delivery(ids[1], b"r1")]])
        yield wait_for(lambda: calls == ["acme"])
        self.assertEqual((yield store.claim("acme", "p2")), [Delivery(ids[2], b"r2")])

    @defer.inlineCallbacks
    def test_older_unread_entries_come_first(self):
        store = yield self.make_store()
        first = yield store.enqueue("acme", b"old")   # nobody here to take it yet
        taker = _Taker(10)
        store.deliver_here("acme", taker)
        second = yield store.enqueue("acme", b"new")
        yield taker.arrived
        self.assertEqual(taker.taken, [[Delivery(first, b"old"), Delivery(second, b"new")]])

    @defer.inlineCallbacks
    def test_no_room_or_no_taker_queues_as_before(self):
        store = yield self.make_store()
        calls = yield self.subscribed(store, "acme")
        taker = _Taker(0)
        store.deliver_here("acme", taker)
        yield store.enqueue("acme", b"r1")
        yield wait_for(lambda: calls == ["acme"])
        store.deliver_here("acme", None)
        taker.space = 10
        yield store.enqueue("acme", b"r2")
        yield wait_for(lambda: calls == ["acme", "acme"])
        self.assertEqual(taker.taken, [])
        self.assertEqual([d.payload for d in (yield store.claim("acme", "p1"))], [b"r1", b"r2"])

    @defer.inlineCallbacks
    def test_a_refused_entry_is_not_handed_over(self):
        store = yield self.make_store(max_queue=1)
        taker = _Taker(10)
        store.deliver_here("acme", taker)
        results = yield settle([store.enqueue("acme", b"r1"), store.enqueue("acme", b"r2")])
        yield taker.arrived
        self.assertIsInstance(results[1], QueueFull)
        self.assertEqual(taker.taken, [[Delivery(results[0], b"r1")]])

    @defer.inlineCallbacks
    def test_a_stream_without_its_group_still_takes_the_entry(self):
        store = yield self.make_store()
        calls = yield self.subscribed(store, "acme")
        self.server.command("XADD", "dlv:{acme}", "*", "p", "by hand")
        taker = _Taker(10)
        store.deliver_here("acme", taker)
        entry_id = yield store.enqueue("acme", b"r1")
        self.assertEqual(taker.taken, [])
        yield wait_for(lambda: calls == ["acme"])
        self.assertEqual([d.entry_id for d in (yield store.claim("acme", "p1"))][-1], entry_id)

    @defer.inlineCallbacks
    def test_what_is_handed_over_is_what_a_read_of_the_pending_entries_gives(self):
        # the script returns only a position for a payload it added (no echo):
        # random mixes of older unread entries, room, chunks and payloads
        # (binary, empty, a str) against the READ script's answer
        rnd = random.Random(11)
        store = yield self.make_store(max_batch=3)
        for case in range(30):
            user = "u%d" % case
            for i in range(rnd.randrange(4)):   # nobody here to take these yet
                yield store.enqueue(user, b"old%d" % i)
            taker = _Taker(rnd.randrange(1, 9))
            store.deliver_here(user, taker)
            payloads = [rnd.choice([b"", b"\r\n$3\r\n", "\u00e9t\u00e9",
                                    bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))])
                        for _ in range(rnd.randrange(1, 8))]
            yield defer.gatherResults([store.enqueue(user, p) for p in payloads])
            yield taker.arrived
            self.assertEqual(taker.taken, [(yield store.pending(user, "p1"))], case)
            store.deliver_here(user, None)

    @defer.inlineCallbacks
    def test_the_enqueuers_hear_before_the_entries_are_handed_over(self):
        store = yield self.make_store()
        order = []
        taker = _Taker(10)
        taker.take = lambda entries: order.append(("taken", len(entries)))
        store.deliver_here("acme", taker)
        ds = [store.enqueue("acme", b"r%d" % i).addCallback(lambda _: order.append("heard"))
              for i in range(2)]
        yield defer.gatherResults(ds)
        yield store._command(b"PING")   # a later reply: the hand-over is done by then
        self.assertEqual(order, ["heard", "heard", ("taken", 2)])
