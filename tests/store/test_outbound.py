"""RedisStore's IOutboundStore against a real redis-server: the contract of each
call, its batching, and its atomicity with several processes at once."""

from twisted.internet import defer
from zope.interface.verify import verifyObject

from smpprouter.store import keys
from smpprouter.store.codec import encode_mapping
from smpprouter.store.errors import QueueFull, StoreUnavailable
from smpprouter.store.interface import (ICorrelationStore, IOutboundStore, Mapping,
                                        MessageRecord, Outbound)
from smpprouter.store.outbound import RECORD_SLACK
from smpprouter.store.redis import RedisStore

from .support import StoreTestCase, wait_for
from .test_redis import ODD, settle

T0 = 1_800_000_000.0


def ids(entries):
    return [e.message_id for e in entries]


def pending_of(server, key):
    """[(entry id, consumer, idle ms)] of the group 'out' (or 'dlv') of key."""
    group = "dlv" if key.startswith("dlv:") else "out"
    return [(p[0], p[1], p[2]) for p in server.command("XPENDING", key, group, "-", "+", 100)]


class OutboundTestCase(StoreTestCase):
    def setUp(self):
        super().setUp()
        self.now = T0

    def make_store(self, server=None, **kwargs):
        kwargs.setdefault("clock", lambda: self.now)
        return super().make_store(server, **kwargs)

    def hash(self, key):
        flat = self.server.command("HGETALL", key)
        return dict(zip(flat[::2], flat[1::2]))

    def record(self, message_id, connector="c"):
        """A synchronous message's record as stored: its field of its block."""
        key, field = keys.record(connector, message_id)
        return self.server.command("HGET", key.decode(), field.decode())

    def assert_record_ttl(self, message_id, ttl, connector="c"):
        """Its block lives ttl past the record, and at most RECORD_SLACK more."""
        key, _ = keys.record(connector, message_id)
        self.assertTrue(ttl - 10 <= self.server.command("TTL", key.decode())
                        <= ttl + RECORD_SLACK, message_id)

    @defer.inlineCallbacks
    def queue(self, store, n, connector="c", priority=0, due=None, prefix="m"):
        yield defer.gatherResults([
            store.enqueue_outbound(connector, f"{prefix}{i}", "acme", b"blob-%d" % i,
                                   priority, due, 3600) for i in range(n)])


class EnqueueTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_provides_both_interfaces(self):
        store = yield self.make_store()
        self.assertTrue(verifyObject(ICorrelationStore, store))
        self.assertTrue(verifyObject(IOutboundStore, store))

    @defer.inlineCallbacks
    def test_queued_now(self):
        store = yield self.make_store()
        self.assertIsNone((yield store.enqueue_outbound("c", "m1", "acme", b"x", 0, None, 7200)))
        h = self.hash("msg:{c}:m1")
        entry = self.server.command("XRANGE", "out:{c}", "-", "+")
        self.assertEqual(h, {"u": "acme", "s": "Q", "m": "x", "p": "0", "q": entry[0][0]})
        self.assertEqual(entry[0][1], ["i", "m1"])      # the stream carries only the id
        self.assertTrue(7190 <= self.server.command("TTL", "msg:{c}:m1") <= 7200)
        groups = self.server.command("XINFO", "GROUPS", "out:{c}")
        self.assertEqual([g[1] for g in groups], ["out"])
        self.assertEqual(self.server.command("EXISTS", "outp:{c}", "sched:{c}"), 0)

    @defer.inlineCallbacks
    def test_priority_goes_to_its_own_stream(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "m1", "acme", b"x", 1, None, 60)
        self.assertEqual(self.server.command("XLEN", "outp:{c}"), 1)
        self.assertEqual(self.server.command("EXISTS", "out:{c}"), 0)
        self.assertEqual(self.hash("msg:{c}:m1")["p"], "1")

    @defer.inlineCallbacks
    def test_a_future_due_schedules_and_a_past_one_queues(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "later", "acme", b"x", 0, T0 + 90.5, 60)
        yield store.enqueue_outbound("c", "past", "acme", b"y", 0, T0 - 1, 60)
        yield store.enqueue_outbound("c", "exactly", "acme", b"z", 0, T0, 60)
        self.assertEqual(self.server.command("ZRANGE", "sched:{c}", 0, -1, "WITHSCORES"),
                         ["later", str(int((T0 + 90.5) * 1000))])
        self.assertEqual(self.hash("msg:{c}:later")["s"], "S")
        self.assertNotIn("q", self.hash("msg:{c}:later"))
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 2)

    @defer.inlineCallbacks
    def test_odd_names_and_binary_blobs(self):
        store = yield self.make_store()
        blob = bytes(range(256))
        yield store.enqueue_outbound(ODD, ODD, ODD, blob, 0, None, 60)
        got = yield store.take_outbound(ODD, "n1", 10)
        self.assertEqual(got, [Outbound(got[0].entry_id, "out", ODD, blob)])
        record = yield store.get_message([ODD], ODD)
        self.assertEqual((record.user, record.state, record.blob), (ODD, "T", blob))

    @defer.inlineCallbacks
    def test_ttl_must_be_positive(self):
        store = yield self.make_store()
        yield self.assertFailure(store.enqueue_outbound("c", "m", "u", b"x", 0, None, 0),
                                 ValueError)
        yield self.assertFailure(store.record_sent("c", "m", "u", 0), ValueError)

    @defer.inlineCallbacks
    def test_queue_full_at_the_bound_writes_nothing(self):
        store = yield self.make_store(max_outbound=5)
        yield store.enqueue_outbound("c", "s0", "acme", b"x", 0, T0 + 60, 60)  # schedule counts
        results = yield settle([store.enqueue_outbound("c", f"m{i}", "acme", b"x", i % 2, None, 60)
                                for i in range(6)])
        self.assertEqual(results[:4], [None] * 4)
        self.assertIsInstance(results[4], QueueFull)
        self.assertIsInstance(results[5], QueueFull)
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:m4", "msg:{c}:m5"), 0)
        self.assertEqual((yield store.outbound_depth("c")), 5)
        # taken but unfinished still counts; finished frees its room
        taken = yield store.take_outbound("c", "n1", 1)
        yield self.assertFailure(store.enqueue_outbound("c", "m6", "acme", b"x", 0, None, 60),
                                 QueueFull)
        yield store.finish_outbound("c", taken[0], "U", upstream_id="u1")
        yield store.enqueue_outbound("c", "m6", "acme", b"x", 0, None, 60)
        # another connector has its own bound
        yield store.enqueue_outbound("d", "m0", "acme", b"x", 0, None, 60)


class TakeTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_take_marks_taken_once(self):
        store = yield self.make_store()
        yield self.queue(store, 3)
        got = yield store.take_outbound("c", "n1", 10)
        self.assertEqual([(e.stream, e.message_id, e.blob) for e in got],
                         [("out", f"m{i}", b"blob-%d" % i) for i in range(3)])
        self.assertEqual({self.hash(f"msg:{{c}}:m{i}")["s"] for i in range(3)}, {"T"})
        self.assertEqual((yield store.take_outbound("c", "n1", 10)), [])
        self.assertEqual((yield store.take_outbound("c", "n2", 10)), [])

    @defer.inlineCallbacks
    def test_priority_entries_come_first(self):
        store = yield self.make_store()
        yield self.queue(store, 3, prefix="n")
        yield self.queue(store, 2, priority=1, prefix="p")
        got = yield store.take_outbound("c", "x", 3)
        self.assertEqual([(e.stream, e.message_id) for e in got],
                         [("outp", "p0"), ("outp", "p1"), ("out", "n0")])
        self.assertEqual(ids((yield store.take_outbound("c", "x", 10))), ["n1", "n2"])

    @defer.inlineCallbacks
    def test_nothing_there(self):
        store = yield self.make_store()
        self.assertEqual((yield store.take_outbound("none", "n1", 10)), [])
        self.assertEqual((yield store.pending_outbound("none", "n1", 10)), [])
        self.assertEqual((yield store.reclaim_outbound("none", "n1", 0, 10)), [])
        self.assertEqual((yield store.move_due("none", T0, 10)), 0)
        self.assertEqual((yield store.outbound_depth("none")), 0)
        self.assertEqual(self.server.command("DBSIZE"), 0)

    @defer.inlineCallbacks
    def test_entries_whose_message_is_gone_are_dropped(self):
        store = yield self.make_store()
        yield self.queue(store, 4)
        self.server.command("DEL", "msg:{c}:m1", "msg:{c}:m2")   # expired
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 2))), ["m0", "m3"])
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 2)      # m0 and m3, pending
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:m1"), 0)  # not recreated

    @defer.inlineCallbacks
    def test_entries_added_before_the_group_existed_are_read(self):
        store = yield self.make_store()
        entry = self.server.command("XADD", "out:{c}", "*", "i", "m0")
        self.server.command("HSET", "msg:{c}:m0", "u", "acme", "s", "Q", "m", "x", "q", entry)
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 10))), ["m0"])

    @defer.inlineCallbacks
    def test_pending_after_a_restart_with_the_same_consumer_name(self):
        first = RedisStore(self.server.host, self.server.port, instance="node-1")
        yield first.start()
        yield self.queue(first, 3)
        yield self.queue(first, 1, priority=1, prefix="p")
        taken = yield first.take_outbound("c", None, 10)
        yield first.finish_outbound("c", taken[1], "U")
        yield first.stop()
        second = yield self.make_store(instance="node-1")
        self.assertEqual((yield second.take_outbound("c", None, 10)), [])
        self.assertEqual((yield second.pending_outbound("c", None, 10)), taken[:1] + taken[2:])
        self.assertEqual((yield second.pending_outbound("c", None, 1)), taken[:1])
        self.assertEqual((yield second.pending_outbound("c", "other", 10)), [])

    @defer.inlineCallbacks
    def test_two_consumers_taking_concurrently_get_disjoint_sets(self):
        a = yield self.make_store()
        b = yield self.make_store()
        yield self.queue(a, 1000)
        got = {"a": [], "b": []}

        @defer.inlineCallbacks
        def drain(store, name):
            while True:
                entries = yield store.take_outbound("c", name, 37)
                if not entries:
                    return
                got[name].extend(ids(entries))
        yield defer.gatherResults([drain(a, "a"), drain(b, "b")])
        self.assertTrue(got["a"] and got["b"])
        self.assertEqual(set(got["a"]) & set(got["b"]), set())
        self.assertEqual(sorted(got["a"] + got["b"]), sorted(f"m{i}" for i in range(1000)))


class ReclaimAndTouchTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_reclaim_takes_a_dead_consumers_entries(self):
        store = yield self.make_store()
        other = yield self.make_store()
        yield self.queue(store, 3)
        yield self.queue(store, 2, priority=1, prefix="p")
        taken = yield store.take_outbound("c", "dead", 10)
        self.assertEqual((yield other.reclaim_outbound("c", "alive", 60_000, 10)), [])
        got = yield other.reclaim_outbound("c", "alive", 0, 4)
        self.assertEqual(got, taken[:4])
        self.assertEqual((yield other.reclaim_outbound("c", "alive", 0, 10)), taken)
        self.assertEqual((yield other.pending_outbound("c", "alive", 10)), taken)
        self.assertEqual((yield other.pending_outbound("c", "dead", 10)), [])

    @defer.inlineCallbacks
    def test_reclaim_after_min_idle_and_touch_prevents_it(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        held = yield store.take_outbound("c", "slow", 10)

        def idle_enough():
            return all(idle >= 100 for _, _, idle in pending_of(self.server, "out:{c}"))
        yield wait_for(idle_enough)
        yield store.touch_outbound("c", "slow", held[:1])
        got = yield store.reclaim_outbound("c", "alive", 100, 10)
        self.assertEqual(got, held[1:])          # the touched one stays with its holder
        self.assertEqual((yield store.pending_outbound("c", "slow", 10)), held[:1])

    @defer.inlineCallbacks
    def test_touch_does_not_take_back_what_another_consumer_reclaimed(self):
        store = yield self.make_store()
        yield self.queue(store, 1)
        held = yield store.take_outbound("c", "a", 10)
        yield store.reclaim_outbound("c", "b", 0, 10)
        yield store.touch_outbound("c", "a", held)
        self.assertEqual([p[1] for p in pending_of(self.server, "out:{c}")], ["b"])
        yield store.finish_outbound("c", held[0], "U")
        yield store.touch_outbound("c", "b", held)    # no longer pending: skipped
        yield store.touch_outbound("c", "b", [])

    @defer.inlineCallbacks
    def test_reclaim_drops_entries_whose_message_is_gone(self):
        store = yield self.make_store()
        yield self.queue(store, 3)
        yield store.take_outbound("c", "dead", 10)
        self.server.command("DEL", "msg:{c}:m1")
        self.assertEqual(ids((yield store.reclaim_outbound("c", "alive", 0, 10))), ["m0", "m2"])
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 2)

    @defer.inlineCallbacks
    def test_touch_keeps_a_held_delivery_from_reclaim(self):
        store = yield self.make_store()
        yield defer.gatherResults([store.enqueue("acme", b"%d" % i) for i in range(2)])
        held = yield store.claim("acme", "slow", 10)

        def idle_enough():
            return all(idle >= 100 for _, _, idle in pending_of(self.server, "dlv:{acme}"))
        yield wait_for(idle_enough)
        yield store.touch("acme", "slow", [held[0].entry_id])
        self.assertEqual((yield store.reclaim("acme", "alive", 100, 10)), held[1:])
        self.assertEqual((yield store.pending("acme", "slow")), held[:1])
        yield store.touch("acme", "alive", ["1-1"])          # not pending: skipped
        yield store.touch("nobody", "alive", ["1-1"])        # no stream at all
        self.assertEqual(self.server.command("EXISTS", "dlv:{nobody}"), 0)


class FinishTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_sent_keeps_the_upstream_id_and_drops_the_blob(self):
        store = yield self.make_store()
        yield self.queue(store, 1, priority=1)
        taken = yield store.take_outbound("c", "n1", 10)
        yield store.finish_outbound("c", taken[0], "U", upstream_id="abc-1")
        self.assertEqual(self.hash("msg:{c}:m0"), {"u": "acme", "s": "U", "p": "1", "x": "abc-1"})
        self.assertEqual(self.server.command("XLEN", "outp:{c}"), 0)
        self.assertEqual(pending_of(self.server, "outp:{c}"), [])
        self.assertEqual((yield store.outbound_depth("c")), 0)

    @defer.inlineCallbacks
    def test_a_final_state_has_its_date_and_error(self):
        store = yield self.make_store()
        yield self.queue(store, 1)
        taken = yield store.take_outbound("c", "n1", 10)
        self.now = T0 + 12.25
        yield store.finish_outbound("c", taken[0], "8", error_code=0x45)
        record = yield store.get_message(["c"], "m0")
        self.assertEqual(record, MessageRecord("m0", "acme", "8", T0 + 12.25, 0x45, "c", None))

    @defer.inlineCallbacks
    def test_finish_of_a_message_gone_does_not_recreate_it(self):
        store = yield self.make_store()
        yield self.queue(store, 1)
        taken = yield store.take_outbound("c", "n1", 10)
        self.server.command("DEL", "msg:{c}:m0")
        yield store.finish_outbound("c", taken[0], "5", 1)
        self.assertEqual(self.server.command("DBSIZE"), 1)      # the empty stream
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 0)

    @defer.inlineCallbacks
    def test_only_sent_or_a_final_state(self):
        store = yield self.make_store()
        entry = Outbound("1-1", "out", "m", b"")
        for state in ("Q", "T", "S", "1", "x"):
            yield self.assertFailure(store.finish_outbound("c", entry, state), ValueError)
        yield self.assertFailure(store.set_state("c", "m", "bogus"), ValueError)

    @defer.inlineCallbacks
    def test_requeue_puts_it_at_the_end(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        first = (yield store.take_outbound("c", "n1", 1))[0]
        yield store.requeue_outbound("c", first)
        self.assertEqual(self.hash("msg:{c}:m0")["s"], "Q")
        again = yield store.take_outbound("c", "n2", 10)
        self.assertEqual(ids(again), ["m1", "m0"])
        self.assertNotEqual(again[1].entry_id, first.entry_id)
        self.assertEqual(again[1].blob, b"blob-0")
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 2)
        self.assertEqual(len(pending_of(self.server, "out:{c}")), 2)

    @defer.inlineCallbacks
    def test_requeue_of_a_message_no_longer_taken_only_drops_the_entry(self):
        store = yield self.make_store()
        yield self.queue(store, 1)
        taken = (yield store.take_outbound("c", "n1", 1))[0]
        yield store.set_state("c", "m0", "3")      # expired meanwhile
        yield store.requeue_outbound("c", taken)
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 0)
        self.assertEqual(self.hash("msg:{c}:m0")["s"], "3")


class StateTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_set_state_of_a_receipt(self):
        store = yield self.make_store()
        yield store.record_sent("c", "m0", "acme", 3600)
        self.now = T0 + 5
        yield store.set_state("c", "m0", "2")
        yield store.set_state("c", "gone", "2")     # never stored: not created
        self.assertEqual(self.record("m0"), "2,%r,0,acme" % (T0 + 5))
        self.assertIsNone(self.record("gone"))
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:gone"), 0)
        yield store.set_state("c", "m0", "5", 0x0B)
        record = yield store.get_message(["c"], "m0")
        self.assertEqual((record.state, record.error_code), ("5", 0x0B))

    @defer.inlineCallbacks
    def test_record_sent(self):
        store = yield self.make_store()
        yield store.record_sent("c", "m0", "acme", 600)
        self.assertEqual(self.record("m0"), "U,,,acme")
        self.assert_record_ttl("m0", 600)
        self.assertEqual((yield store.outbound_depth("c")), 0)

    @defer.inlineCallbacks
    def test_get_message_looks_in_each_connector(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("b", "m0", "acme", b"x", 0, None, 60)
        yield store.record_sent("c", "m0", "other", 60)
        self.assertEqual((yield store.get_message(["a", "b", "c"], "m0")),
                         MessageRecord("m0", "acme", "Q", 0.0, 0, "b", b"x"))
        self.assertEqual((yield store.get_message(["a", "c"], "m0")).user, "other")
        self.assertIsNone((yield store.get_message(["a", "d"], "m0")))
        self.assertIsNone((yield store.get_message([], "m0")))


class ScheduleTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_move_due_moves_only_what_is_due(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "early", "acme", b"x", 0, T0 + 10, 60)
        yield store.enqueue_outbound("c", "prio", "acme", b"x", 1, T0 + 20, 60)
        yield store.enqueue_outbound("c", "late", "acme", b"x", 0, T0 + 30, 60)
        self.assertEqual((yield store.take_outbound("c", "n1", 10)), [])
        self.assertEqual((yield store.move_due("c", T0 + 5, 10)), 0)
        self.assertEqual((yield store.move_due("c", T0 + 20, 1)), 1)       # count
        self.assertEqual((yield store.move_due("c", T0 + 20, 10)), 1)
        self.assertEqual(self.server.command("ZRANGE", "sched:{c}", 0, -1), ["late"])
        self.assertEqual(self.hash("msg:{c}:early")["s"], "Q")
        got = yield store.take_outbound("c", "n1", 10)
        self.assertEqual([(e.stream, e.message_id) for e in got],
                         [("outp", "prio"), ("out", "early")])

    @defer.inlineCallbacks
    def test_move_due_only_removes_what_is_no_longer_scheduled(self):
        store = yield self.make_store()
        yield self.queue(store, 3, due=T0 + 10)
        yield store.cancel_message("c", "m0", "acme")
        self.server.command("ZADD", "sched:{c}", int(T0 * 1000), "m0")   # left behind
        self.server.command("DEL", "msg:{c}:m1")                          # expired
        self.assertEqual((yield store.move_due("c", T0 + 10, 10)), 1)
        self.assertEqual(self.server.command("ZCARD", "sched:{c}"), 0)
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 10))), ["m2"])
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:m1"), 0)

    @defer.inlineCallbacks
    def test_two_processes_moving_at_once_move_each_message_once(self):
        a = yield self.make_store()
        b = yield self.make_store()
        yield self.queue(a, 1000, due=T0 + 1)
        moved = {"a": 0, "b": 0}

        @defer.inlineCallbacks
        def move(store, name):
            while True:
                n = yield store.move_due("c", T0 + 2, 50)
                if not n:
                    return
                moved[name] += n
        yield defer.gatherResults([move(a, "a"), move(b, "b")])
        self.assertEqual(moved["a"] + moved["b"], 1000)
        self.assertTrue(moved["a"] and moved["b"])
        entries = self.server.command("XRANGE", "out:{c}", "-", "+")
        self.assertEqual(sorted(fields[1] for _, fields in entries),
                         sorted(f"m{i}" for i in range(1000)))
        self.assertEqual(self.server.command("ZCARD", "sched:{c}"), 0)


class CancelReplaceTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_cancel_a_queued_message(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        self.now = T0 + 3
        self.assertTrue((yield store.cancel_message("c", "m0", "acme")))
        self.assertEqual(self.hash("msg:{c}:m0"), {"u": "acme", "s": "4", "p": "0",
                                                   "f": repr(T0 + 3)})
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 10))), ["m1"])
        self.assertEqual(self.server.command("XLEN", "out:{c}"), 1)     # m1's, pending
        self.assertFalse((yield store.cancel_message("c", "m0", "acme")))   # final already

    @defer.inlineCallbacks
    def test_cancel_a_scheduled_message(self):
        store = yield self.make_store()
        yield self.queue(store, 1, due=T0 + 60)
        self.assertTrue((yield store.cancel_message("c", "m0", "acme")))
        self.assertEqual(self.server.command("ZCARD", "sched:{c}"), 0)
        self.assertEqual((yield store.get_message(["c"], "m0")).state, "4")
        self.assertEqual((yield store.outbound_depth("c")), 0)

    @defer.inlineCallbacks
    def test_cancel_refuses(self):
        store = yield self.make_store()
        yield self.queue(store, 3)
        yield store.record_sent("c", "sync", "acme", 60)
        taken = yield store.take_outbound("c", "n1", 2)
        yield store.finish_outbound("c", taken[1], "U")
        results = yield defer.gatherResults([
            store.cancel_message("c", "m2", "someone-else"),
            store.cancel_message("c", "unknown", "acme"),
            store.cancel_message("other", "m2", "acme"),
            store.cancel_message("c", "m0", "acme"),      # TAKEN
            store.cancel_message("c", "m1", "acme"),      # SENT
            store.cancel_message("c", "sync", "acme")])   # SENT
        self.assertEqual(results, [False] * 6)
        self.assertEqual(self.hash("msg:{c}:m2")["s"], "Q")
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:unknown", "msg:{other}:m2"), 0)

    @defer.inlineCallbacks
    def test_replace_keeping_its_place(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        yield self.queue(store, 1, due=T0 + 60, prefix="s")
        self.assertTrue((yield store.replace_message("c", "m0", "acme", b"new", None)))
        self.assertTrue((yield store.replace_message("c", "s0", "acme", b"new-s", None)))
        got = yield store.take_outbound("c", "n1", 10)
        self.assertEqual([(e.message_id, e.blob) for e in got], [("m0", b"new"), ("m1", b"blob-1")])
        self.assertEqual(self.server.command("ZSCORE", "sched:{c}", "s0"),
                         str(int((T0 + 60) * 1000)))
        self.assertEqual(self.hash("msg:{c}:s0")["m"], "new-s")

    @defer.inlineCallbacks
    def test_replace_rescheduling_a_queued_message_sends_it_once_later(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        self.assertTrue((yield store.replace_message("c", "m0", "acme", b"later", T0 + 60)))
        self.assertEqual(self.hash("msg:{c}:m0")["s"], "S")
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 10))), ["m1"])
        self.assertEqual((yield store.move_due("c", T0 + 60, 10)), 1)
        got = yield store.take_outbound("c", "n1", 10)
        self.assertEqual([(e.message_id, e.blob) for e in got], [("m0", b"later")])
        self.assertEqual((yield store.take_outbound("c", "n2", 10)), [])

    @defer.inlineCallbacks
    def test_replace_scheduled_with_a_passed_due_queues_it_now(self):
        store = yield self.make_store()
        yield self.queue(store, 1, due=T0 + 60, priority=1)
        self.assertTrue((yield store.replace_message("c", "m0", "acme", b"now", T0)))
        self.assertEqual(self.server.command("ZCARD", "sched:{c}"), 0)
        got = yield store.take_outbound("c", "n1", 10)
        self.assertEqual([(e.stream, e.message_id, e.blob) for e in got], [("outp", "m0", b"now")])
        # a queued one given a passed due keeps its place
        yield self.queue(store, 1, prefix="q")
        self.assertTrue((yield store.replace_message("c", "q0", "acme", b"q", T0 - 5)))
        self.assertEqual(self.hash("msg:{c}:q0")["s"], "Q")

    @defer.inlineCallbacks
    def test_replace_refuses(self):
        store = yield self.make_store()
        yield self.queue(store, 2)
        yield store.take_outbound("c", "n1", 1)
        results = yield defer.gatherResults([
            store.replace_message("c", "m1", "someone-else", b"x", None),
            store.replace_message("c", "unknown", "acme", b"x", None),
            store.replace_message("c", "m0", "acme", b"x", None)])     # TAKEN
        self.assertEqual(results, [False] * 3)
        self.assertEqual(self.hash("msg:{c}:m1")["m"], "blob-1")
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:unknown"), 0)


class BatchingTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_enqueues_of_one_turn_are_one_script_per_connector(self):
        store = yield self.make_store()
        before, flushes, commands = self.server.command_calls(), store.flushes, store.commands
        yield defer.gatherResults(
            [store.enqueue_outbound("c1", f"m{i}", "acme", b"x", i % 2, None, 60)
             for i in range(100)]
            + [store.enqueue_outbound("c2", f"m{i}", "acme", b"x", 0, T0 + 9, 60)
               for i in range(50)])
        after = self.server.command_calls()
        self.assertEqual(store.flushes - flushes, 1)
        self.assertEqual(store.commands - commands, 2)
        self.assertEqual(after.get("evalsha", 0) - before.get("evalsha", 0), 2)
        self.assertEqual((yield store.outbound_depth("c1")), 100)
        self.assertEqual((yield store.outbound_depth("c2")), 50)

    @defer.inlineCallbacks
    def test_finishes_and_states_of_one_turn_are_one_script_each_per_connector(self):
        store = yield self.make_store()
        yield self.queue(store, 60)
        taken = yield store.take_outbound("c", "n1", 60)
        commands = store.commands
        yield defer.gatherResults([store.finish_outbound("c", e, "U", upstream_id=f"u{i}")
                                   for i, e in enumerate(taken)])
        self.assertEqual(store.commands - commands, 1)
        commands = store.commands
        yield defer.gatherResults([store.set_state("c", f"m{i}", "2") for i in range(60)])
        self.assertEqual(store.commands - commands, 1)
        self.assertEqual({self.hash(f"msg:{{c}}:m{i}")["s"] for i in range(60)}, {"2"})

    @defer.inlineCallbacks
    def test_record_sent_goes_with_save_mapping_of_its_connector(self):
        store = yield self.make_store()
        m = Mapping("r1", "acme", "src", "dst", T0)
        commands = store.commands
        yield defer.gatherResults(
            [store.save_mapping("c", f"up{i}", m, 60) for i in range(30)]
            + [store.record_sent("c", f"r{i}", "acme", 60) for i in range(30)]
            + [store.save_mapping("d", "up0", m, 60)])
        self.assertEqual(store.commands - commands, 2)
        self.assertEqual((yield store.get_mapping("c", "up29")), m)
        self.assertEqual((yield store.get_message(["c"], "r29")).state, "U")
        # 31 mappings, and the records in two blocks: r0..r9 and r10..r29
        self.assertEqual(self.server.command("DBSIZE"), 33)

    @defer.inlineCallbacks
    def test_batches_are_split_at_max_batch(self):
        store = yield self.make_store(max_batch=10, max_outbound=24)
        commands = store.commands
        results = yield settle([store.enqueue_outbound("c", f"m{i}", "acme", b"x", 0, None, 60)
                                for i in range(25)])
        self.assertEqual(store.commands - commands, 3)
        self.assertEqual(results[:24], [None] * 24)
        self.assertIsInstance(results[24], QueueFull)
        commands = store.commands
        m = Mapping("r1", "acme", "src", "dst", T0)
        yield defer.gatherResults([store.save_mapping("c", f"up{i}", m, 60) for i in range(15)]
                                  + [store.record_sent("c", f"r{i}", "acme", 60)
                                     for i in range(10)])
        self.assertEqual(store.commands - commands, 3)
        self.assertEqual((yield store.get_message(["c"], "r9")).state, "U")
        self.assertEqual((yield store.get_mapping("c", "up14")), m)

    @defer.inlineCallbacks
    def test_scripts_come_back_after_script_flush(self):
        store = yield self.make_store()
        self.server.command("SCRIPT", "FLUSH")
        evals = self.server.command_calls().get("eval", 0)   # the server is shared
        yield store.enqueue_outbound("c", "m0", "acme", b"x", 0, None, 60)
        self.assertEqual(ids((yield store.take_outbound("c", "n1", 10))), ["m0"])
        self.assertEqual(self.server.command_calls()["eval"] - evals, 2)
        yield store.enqueue_outbound("c", "m1", "acme", b"x", 0, None, 60)
        self.assertEqual(self.server.command_calls()["eval"] - evals, 2)


class NotificationTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_queued_messages_call_back_in_every_process(self):
        here = yield self.make_store()
        there = yield self.make_store()
        calls = []
        yield here.subscribe_outbound("c", calls.append)
        yield wait_for(lambda: calls == ["c"])       # once when it takes effect
        yield there.enqueue_outbound("c", "s0", "acme", b"x", 0, T0 + 5, 60)  # not queued
        yield there.enqueue_outbound("c", "m0", "acme", b"x", 0, None, 60)
        yield wait_for(lambda: len(calls) >= 2)
        yield there.move_due("c", T0 + 5, 10)
        yield wait_for(lambda: len(calls) >= 3)
        taken = yield here.take_outbound("c", "n1", 10)
        yield here.requeue_outbound("c", taken[0])
        yield wait_for(lambda: len(calls) >= 4)
        self.assertEqual(calls, ["c"] * 4)

    @defer.inlineCallbacks
    def test_unsubscribe_and_the_user_channels_apart(self):
        here = yield self.make_store()
        there = yield self.make_store()
        outbound, deliveries = [], []
        yield here.subscribe_outbound("a", outbound.append)
        yield here.subscribe_outbound("b", outbound.append)
        yield here.subscribe("a", deliveries.append)     # same name, other channel
        yield wait_for(lambda: sorted(outbound) == ["a", "b"] and deliveries == ["a"])
        del outbound[:]
        yield here.unsubscribe_outbound("a")
        yield there.enqueue_outbound("a", "m0", "acme", b"x", 0, None, 60)
        yield there.enqueue_outbound("b", "m0", "acme", b"x", 0, None, 60)
        # pub/sub keeps order on one connection: "a" would have come first
        yield wait_for(lambda: outbound == ["b"])
        self.assertEqual(deliveries, ["a"])


class ClientSideTests(OutboundTestCase):
    @defer.inlineCallbacks
    def test_calls_fail_before_start(self):
        store = RedisStore(self.server.host, self.server.port)
        for d in outbound_calls(store):
            yield self.assertFailure(d, StoreUnavailable)


def outbound_calls(store):
    """One call of every IOutboundStore method."""
    entry = Outbound("1-1", "out", "m0", b"x")
    return [store.enqueue_outbound("c", "m9", "acme", b"x", 0, None, 60, T0 + 5),
            store.expire_due("c", T0, 10, 10), store.finish_expired("c", ["m9"]),
            store.move_due("c", T0, 10), store.take_outbound("c", "n", 10),
            store.pending_outbound("c", "n", 10), store.reclaim_outbound("c", "n", 0, 10),
            store.touch_outbound("c", "n", [entry]), store.finish_outbound("c", entry, "U"),
            store.requeue_outbound("c", entry), store.set_state("c", "m0", "2"),
            store.record_sent("c", "m8", "acme", 60), store.get_message(["c", "d"], "m0"),
            store.cancel_message("c", "m0", "acme"),
            store.replace_message("c", "m0", "acme", b"y", None, T0 + 9),
            store.touch("acme", "n", ["1-1"]), store.outbound_depth("c"),
            store.subscribe_outbound("c", lambda c: None)]


class HotPathRecordTests(OutboundTestCase):
    """save_mapping(record=True) and get_mapping(state): query_sm's records kept
    by the commands the synchronous path sends anyway."""

    @defer.inlineCallbacks
    def test_a_mapping_with_its_record_then_a_lookup_that_records_the_outcome(self):
        store = yield self.make_store()
        m = Mapping("r1", "acme", "src", "dst", T0)
        commands = store.commands
        yield defer.gatherResults([store.save_mapping("c", "up%d" % i, m, 600, record=True)
                                   for i in range(20)])
        self.assertEqual(store.commands - commands, 1)
        self.assertEqual(self.record("r1"), "U,,,acme")
        self.assert_record_ttl("r1", 600)
        self.now = T0 + 5
        commands = store.commands
        got = yield defer.gatherResults([store.get_mapping("c", "up0", "2"),
                                         store.get_mapping("c", "nope", "2"),
                                         store.get_mapping("c", "up1")])
        self.assertEqual(got, [m, None, m])
        self.assertEqual(store.commands - commands, 1)
        record = yield store.get_message(["c"], "r1")
        self.assertEqual((record.state, record.final_date, record.user), ("2", T0 + 5, "acme"))

    @defer.inlineCallbacks
    def test_records_made_from_the_mapping_or_from_their_own_arguments(self):
        """A plain id and user: the script reads them off the mapping; any other
        (an odd user, an id with a dash): passed as they are. Both alike after."""
        store = yield self.make_store()
        cases = [("r1", "acme"), ("r-2", "acme"), ("r3", ODD), ("r4", 'a"b'), ("r5", "b\\c"),
                 ("r6", "tab\tuser"), ("r7", "acme")]
        saves = [store.save_mapping("c", "up%d" % i, Mapping(mid, user, "s", "d", T0), 600,
                                    record=True) for i, (mid, user) in enumerate(cases)]
        saves.append(store.save_mapping("c", "bare", Mapping("r8", "acme", "s", "d", T0), 600))
        yield defer.gatherResults(saves)
        for mid, user in cases:
            record = yield store.get_message(["c"], mid)
            self.assertEqual((record.user, record.state), (user, "U"), mid)
            self.assert_record_ttl(mid, 600)
        self.assertIsNone(self.record("r8"))

    @defer.inlineCallbacks
    def test_records_made_from_the_mappings_across_chunks(self):
        store = yield self.make_store(max_batch=3)
        ids = ["r%d" % i for i in range(8)]
        saves = [store.save_mapping("c", "up%d" % i, Mapping(mid, "acme", "s", "d", T0), 600,
                                    record=(i != 4)) for i, mid in enumerate(ids)]
        saves.append(store.record_sent("c", "x1", "acme", 600))
        yield defer.gatherResults(saves)
        for i, mid in enumerate(ids + ["x1"]):
            self.assertEqual(self.record(mid) is not None, i != 4, mid)
        got = yield defer.gatherResults([store.get_mapping("c", "up%d" % i) for i in range(8)])
        self.assertEqual([m.message_id for m in got], ids)

    @defer.inlineCallbacks
    def test_a_batch_of_records_costs_commands_per_block_not_per_message(self):
        store = yield self.make_store()
        ids = ["r1%02x" % i for i in range(64)]   # r100..r13f: one block (keys.record)

        def executed(before):
            after = self.server.command_calls()
            return {k: after[k] - before.get(k, 0) for k in after
                    if after[k] != before.get(k, 0) and k != "info"}   # INFO: ours

        def save(batch):
            return defer.gatherResults([
                store.save_mapping("c", "up-" + mid, Mapping(mid, "acme", "s", "d", T0), 600,
                                   record=True) for mid in batch])
        before = self.server.command_calls()
        yield save(ids[:32])
        self.assertEqual(executed(before),
                         {"evalsha": 1, "set": 32, "hset": 1, "hsetnx": 1, "expire": 1})
        before = self.server.command_calls()   # the same block later in the hour: no EXPIRE
        yield save(ids[32:])
        self.assertEqual(executed(before), {"evalsha": 1, "set": 32, "hset": 1, "hsetnx": 1})
        self.now = T0 + 5
        before = self.server.command_calls()
        got = yield defer.gatherResults([store.get_mapping("c", "up-" + mid, "2")
                                         for mid in ids])
        self.assertEqual([m.message_id for m in got], ids)
        self.assertEqual(executed(before), {"evalsha": 1, "mget": 1, "hmget": 1, "hset": 1})
        records = yield defer.gatherResults([store.get_message(["c"], mid) for mid in ids])
        self.assertEqual({(r.state, r.final_date, r.error_code, r.user) for r in records},
                         {("2", T0 + 5, 0, "acme")})

    @defer.inlineCallbacks
    def test_a_block_gets_its_expire_at_its_first_write_of_each_hour(self):
        store = yield self.make_store()
        key = keys.record("c", "r100")[0].decode()

        def save(mid):
            return store.save_mapping("c", "up-" + mid, Mapping(mid, "acme", "s", "d", T0),
                                      600, record=True)
        yield save("r100")   # T0 starts an hour
        self.assert_record_ttl("r100", 600)
        self.server.command("EXPIRE", key, 100)   # what an hour's writes leave of it
        self.now = T0 + RECORD_SLACK - 1
        yield save("r101")
        self.assertLessEqual(self.server.command("TTL", key), 100)
        self.now = T0 + RECORD_SLACK
        yield save("r102")
        self.assert_record_ttl("r102", 600)
        records = yield defer.gatherResults([store.get_message(["c"], m)
                                             for m in ("r100", "r101", "r102")])
        self.assertEqual([r.state for r in records], ["U"] * 3)

    @defer.inlineCallbacks
    def test_a_block_gets_its_expire_whatever_fields_it_had(self):
        """A record written again in a new hour (its field there already), or
        named twice in one batch of a new block: the hour still raises the
        block's EXPIRE (the HSET's count of new fields would not tell)."""
        store = yield self.make_store()
        key = keys.record("c", "r100")[0].decode()

        def save(*mids):
            return defer.gatherResults([store.save_mapping(
                "c", "up-%s-%d" % (mid, i), Mapping(mid, "acme", "s", "d", T0), 600,
                record=True) for i, mid in enumerate(mids)])
        yield save("r100", "r100")   # a new block, one field twice
        self.assert_record_ttl("r100", 600)
        self.server.command("EXPIRE", key, 50)
        self.now = T0 + RECORD_SLACK
        yield save("r100", "r101")   # a new hour; r100's field is there already
        self.assert_record_ttl("r101", 600)

    @defer.inlineCallbacks
    def test_records_of_the_earlier_layout_are_still_read_and_kept(self):
        """A hash msg:{c}:<id> per synchronous message, as d60fad7 wrote them:
        query_sm still finds them, and a receipt's outcome or set_state still
        lands in them, beside records of the blocks in the same batches."""
        store = yield self.make_store()
        for mid in ("old1", "old2"):
            self.server.command("HSET", "msg:{c}:" + mid, "u", "acme", "s", "U")
            self.server.command("EXPIRE", "msg:{c}:" + mid, 600)
        yield defer.gatherResults([
            store.save_mapping("c", "up1", Mapping("old1", "acme", "s", "d", T0), 600),
            store.save_mapping("c", "up3", Mapping("new3", "acme", "s", "d", T0), 600,
                               record=True)])
        self.assertEqual((yield store.get_message(["b", "c"], "old1")),
                         MessageRecord("old1", "acme", "U", 0.0, 0, "c", None))
        self.now = T0 + 5
        yield defer.gatherResults([store.get_mapping("c", "up1", "2"),
                                   store.get_mapping("c", "up3", "5"),
                                   store.set_state("c", "old2", "8", 11)])
        records = yield defer.gatherResults([store.get_message(["c"], m)
                                             for m in ("old1", "old2", "new3")])
        self.assertEqual([(r.state, r.final_date, r.error_code) for r in records],
                         [("2", T0 + 5, 0), ("8", T0 + 5, 11), ("5", T0 + 5, 0)])
        self.assertEqual(self.hash("msg:{c}:old1"), {"u": "acme", "s": "2", "f": repr(T0 + 5)})
        self.assertIsNone(self.record("old1"))
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:new3"), 0)
        self.assertTrue(590 <= self.server.command("TTL", "msg:{c}:old1") <= 600)

    @defer.inlineCallbacks
    def test_outcomes_of_a_batch_one_state_or_several_across_chunks(self):
        for max_batch in (1000, 3):
            store = yield self.make_store(max_batch=max_batch)
            ids = [f"q{max_batch}-{i}" for i in range(7)]
            yield defer.gatherResults([
                store.save_mapping("c", "up-" + mid, Mapping(mid, "acme", "s", "d", T0), 600,
                                   record=True) for mid in ids])
            for states in (["2", None, "5", "2", "2", None, "8"], ["5"] * 7):
                got = yield defer.gatherResults([store.get_mapping("c", "up-" + mid, state)
                                                 for mid, state in zip(ids, states)])
                self.assertEqual([m.message_id for m in got], ids)
                records = yield defer.gatherResults([store.get_message(["c"], mid)
                                                     for mid in ids])
                self.assertEqual([r.state for r in records],
                                 [state or "U" for state in states], max_batch)
                ids = ids[::-1]   # the same records again, in another order

    @defer.inlineCallbacks
    def test_a_queued_messages_receipt_does_not_look_in_a_block(self):
        store = yield self.make_store()
        yield self.queue(store, 3)
        taken = yield store.take_outbound("c", "me", 10)
        yield defer.gatherResults([store.finish_outbound("c", e, "U", upstream_id=f"up{i}")
                                   for i, e in enumerate(taken)]
                                  + [store.save_mapping("c", f"up{i}", Mapping(
                                      f"m{i}", "acme", "s", "d", T0), 60) for i in range(3)])
        before = self.server.command_calls()
        yield defer.gatherResults([store.get_mapping("c", f"up{i}", "2") for i in range(3)])
        after = self.server.command_calls()
        self.assertEqual(after.get("hmget", 0) - before.get("hmget", 0), 0)
        self.assertEqual(after.get("hget", 0) - before.get("hget", 0), 0)
        records = yield defer.gatherResults([store.get_message(["c"], f"m{i}")
                                             for i in range(3)])
        self.assertEqual([r.state for r in records], ["2"] * 3)

    @defer.inlineCallbacks
    def test_a_part_saved_without_the_record_still_records_its_state(self):
        """A split message's later parts are mapped without the record (the
        first part's has it): their receipts' states reach it as before."""
        store = yield self.make_store()
        yield defer.gatherResults([
            store.save_mapping("c", f"up{seq}", Mapping("r7", "acme", "s", "d", T0, 2, 1, "",
                                                        "", seq), 60, record=(seq == 1))
            for seq in (1, 2)])
        self.now = T0 + 5
        yield store.get_mapping("c", "up2", "5")
        self.assertEqual(self.record("r7"), "5,%r,,acme" % (T0 + 5))
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:r7"), 0)

    @defer.inlineCallbacks
    def test_a_late_receipt_after_the_routers_own_still_records_its_outcome(self):
        store = yield self.make_store()
        store.watch_receipts("c", 10)
        m = Mapping("r8", "acme", "s", "d", T0, 1, 1)
        yield store.save_mapping("c", "up8", m, 600, record=True)
        [(member, taken)] = yield store.take_overdue("c", T0 + 11, 60, 10)
        self.assertEqual(taken, m)
        yield store.set_state("c", "r8", "7", 99)
        yield store.finish_overdue("c", [(member, encode_mapping(
            Mapping("r8", "acme", "s", "d", T0, 1, 0x80)))])
        self.now = T0 + 20
        late = yield store.get_mapping("c", "up8", "5")
        self.assertEqual(late.registered_delivery, 0x80)
        self.assertEqual(self.record("r8"), "5,%r,99,acme" % (T0 + 20))

    @defer.inlineCallbacks
    def test_an_outcome_creates_no_record_where_there_was_none(self):
        store = yield self.make_store()
        yield store.save_mapping("c", "up0", Mapping("r0", "acme", "s", "d", T0), 60)
        self.assertEqual((yield store.get_mapping("c", "up0", "5")).message_id, "r0")
        self.assertEqual(self.server.command("EXISTS", "msg:{c}:r0"), 0)

    @defer.inlineCallbacks
    def test_without_a_state_the_lookup_stays_an_mget(self):
        store = yield self.make_store()
        before = self.server.command_calls()
        yield store.get_mapping("c", "up0")
        calls = self.server.command_calls()
        self.assertEqual(calls.get("mget", 0) - before.get("mget", 0), 1)

    @defer.inlineCallbacks
    def test_sent_never_replaces_an_outcome_recorded_first(self):
        # The upstream's receipt can beat the finish script: its outcome stays.
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "m0", "acme", b"x", 0, None, 60)
        [entry] = yield store.take_outbound("c", "me", 10)
        yield store.save_mapping("c", "up0", Mapping("m0", "acme", "s", "d", T0), 60)
        yield store.get_mapping("c", "up0", "2")
        yield store.finish_outbound("c", entry, "U", upstream_id="up0")
        record = yield store.get_message(["c"], "m0")
        self.assertEqual(record.state, "2")


class ExpiryTests(OutboundTestCase):
    """expire_due / finish_expired: validity ends whether or not anyone drains."""

    @defer.inlineCallbacks
    def test_queued_and_scheduled_messages_expire_for_whoever_asks(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "q0", "acme", b"queued", 0, None, 60, T0 + 1)
        yield store.enqueue_outbound("c", "s0", "acme", b"sched", 0, T0 + 30, 60, T0 + 2)
        yield store.enqueue_outbound("c", "later", "acme", b"x", 0, None, 60, T0 + 100)
        self.assertEqual((yield store.expire_due("c", T0 + 0.5, 10, 100)), [])
        found = yield store.expire_due("c", T0 + 3, 10, 100)
        self.assertEqual(sorted(found), [("q0", b"queued"), ("s0", b"sched")])
        self.assertEqual(self.hash("msg:{c}:q0")["s"], "X")
        self.assertEqual(self.server.command("ZCARD", "sched:{c}"), 0)
        self.assertEqual(ids((yield store.take_outbound("c", "me", 10))), ["later"])
        yield store.finish_expired("c", ["q0", "s0"])
        record = yield store.get_message(["c"], "q0")
        self.assertEqual((record.state, record.blob, record.error_code), ("3", None, 0))
        self.assertEqual((yield store.expire_due("c", T0 + 50, 10, 100)), [])

    @defer.inlineCallbacks
    def test_one_its_taker_never_finished_comes_back_after_the_lease(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "m0", "acme", b"x", 0, None, 60, T0 + 1)
        self.assertEqual(len((yield store.expire_due("c", T0 + 2, 10, 100))), 1)
        self.assertEqual((yield store.expire_due("c", T0 + 5, 10, 100)), [])   # leased
        self.assertEqual(len((yield store.expire_due("c", T0 + 13, 10, 100))), 1)

    @defer.inlineCallbacks
    def test_taken_sent_or_replaced_later_is_not_expired(self):
        store = yield self.make_store()
        yield store.enqueue_outbound("c", "t0", "acme", b"x", 0, None, 60, T0 + 1)
        yield store.enqueue_outbound("c", "r0", "acme", b"x", 0, T0 + 30, 60, T0 + 1)
        yield store.take_outbound("c", "me", 10)                  # t0 is TAKEN
        self.assertTrue((yield store.replace_message("c", "r0", "acme", b"y", None, T0 + 60)))
        self.assertEqual((yield store.expire_due("c", T0 + 2, 10, 100)), [])
        self.assertEqual(self.hash("msg:{c}:t0")["s"], "T")
        self.assertEqual(self.hash("msg:{c}:r0")["s"], "S")
        self.assertEqual([m for m, _ in (yield store.expire_due("c", T0 + 61, 10, 100))],
                         ["r0"])
