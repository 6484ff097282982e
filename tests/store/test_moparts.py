"""The parts of concatenated MOs in Redis (store/moparts.py), on a real server:
any order, copies ignored, the whole set handed out once across callers, a
dead deliverer's set taken again after the lease, sets past their timeout
claimed once."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer

from smpprouter.store.moparts import (ADD_PART, BUSY, COMPLETE, LATE, STORED, index_key,
                                      set_key)

from .support import StoreTestCase

NOW = 1_800_000_000.0
TIMEOUT, LEASE = 60.0, 15.0


def _add(server, set_id, seqnum, total, part, now=NOW):
    """ADD_PART through the blocking client: one caller, as any process is."""
    ms = int(now * 1000)
    reply = server.command("EVAL", ADD_PART, 2, set_key("smsc", set_id),
                           index_key("smsc"), seqnum, total, part, ms,
                           ms + int(TIMEOUT * 1000), 200, int(LEASE * 1000), set_id)
    return reply


class ScriptPropertyTests(StoreTestCase):
    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def test_any_order_with_copies_completes_once_with_every_part(self, data):
        self.server.command("FLUSHALL")
        total = data.draw(st.integers(2, 8), label="total")
        parts = ["part %d of %d" % (n, total) for n in range(1, total + 1)]
        arrivals = data.draw(st.lists(st.integers(1, total), max_size=3 * total),
                             label="copies")
        order = data.draw(st.permutations(list(range(1, total + 1)) + arrivals),
                          label="order")
        completions = []
        for n, seqnum in enumerate(order):
            reply = _add(self.server, b"7:%d:4477:100" % total, seqnum, total,
                         parts[seqnum - 1], NOW + n / 1000)
            if reply[0] == COMPLETE:
                completions.append(reply[1:])
            else:
                # before the set is whole a part is stored or a copy; after it,
                # every copy is "busy" (the deliverer holds the set)
                self.assertIn(reply[0], (STORED, BUSY))
        self.assertEqual(completions, [parts])


class PartTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_a_set_is_handed_out_once_then_copies_are_ignored(self):
        store = yield self.make_store()
        got = yield defer.gatherResults([
            store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"two", NOW, TIMEOUT, LEASE),
            store.add_mo_part("smsc", b"1:2:a:b", 1, 2, b"one", NOW, TIMEOUT, LEASE)])
        self.assertEqual(got, [(STORED, None), (COMPLETE, [b"one", b"two"])])
        again = yield store.add_mo_part("smsc", b"1:2:a:b", 1, 2, b"one", NOW + 1,
                                        TIMEOUT, LEASE)
        self.assertEqual(again, (BUSY, None))   # its deliverer is queueing it
        yield store.mo_set_done("smsc", b"1:2:a:b")
        again = yield store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"two", NOW + 2,
                                        TIMEOUT, LEASE)
        self.assertEqual(again, (STORED, None))   # a copy: ESME_ROK, nothing new
        self.assertEqual(self.server.command("ZCARD", "mox:{smsc}"), 0)

    @defer.inlineCallbacks
    def test_a_reused_reference_after_delivery_opens_a_new_set(self):
        store = yield self.make_store()
        yield store.add_mo_part("smsc", b"1:2:a:b", 1, 2, b"one", NOW, TIMEOUT, LEASE)
        yield store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"two", NOW, TIMEOUT, LEASE)
        yield store.mo_set_done("smsc", b"1:2:a:b")
        got = yield store.add_mo_part("smsc", b"1:2:a:b", 1, 2, b"new one", NOW + 5,
                                      TIMEOUT, LEASE)
        self.assertEqual(got, (STORED, None))
        got = yield store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"new two", NOW + 6,
                                      TIMEOUT, LEASE)
        self.assertEqual(got, (COMPLETE, [b"new one", b"new two"]))

    @defer.inlineCallbacks
    def test_a_part_missing_from_a_delivered_set_is_late(self):
        store = yield self.make_store()
        yield store.add_mo_part("smsc", b"1:3:a:b", 1, 3, b"one", NOW, TIMEOUT, LEASE)
        [(set_id, parts)] = yield store.take_due_mo_sets("smsc", NOW + TIMEOUT, LEASE)
        self.assertEqual((set_id, parts), (b"1:3:a:b", {1: b"one"}))
        yield store.mo_set_done("smsc", set_id)
        got = yield store.add_mo_part("smsc", b"1:3:a:b", 3, 3, b"three", NOW + TIMEOUT + 1,
                                      TIMEOUT, LEASE)
        self.assertEqual(got, (LATE, None))

    @defer.inlineCallbacks
    def test_a_dead_deliverers_set_is_taken_again_after_the_lease(self):
        store = yield self.make_store()
        yield store.add_mo_part("smsc", b"1:2:a:b", 1, 2, b"one", NOW, TIMEOUT, LEASE)
        got = yield store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"two", NOW, TIMEOUT, LEASE)
        self.assertEqual(got[0], COMPLETE)
        # its deliverer dies; within the lease nobody takes it
        due = yield store.take_due_mo_sets("smsc", NOW + LEASE - 1, LEASE)
        self.assertEqual(due, [])
        # the upstream sends the last part again after the lease: handed out again
        got = yield store.add_mo_part("smsc", b"1:2:a:b", 2, 2, b"two", NOW + LEASE + 1,
                                      TIMEOUT, LEASE)
        self.assertEqual(got, (COMPLETE, [b"one", b"two"]))
        # or, when the upstream does not, the sweep does
        due = yield store.take_due_mo_sets("smsc", NOW + 2 * LEASE + 2, LEASE)
        self.assertEqual(due, [(b"1:2:a:b", {1: b"one", 2: b"two"})])

    @defer.inlineCallbacks
    def test_sets_past_their_timeout_are_claimed_by_one_sweeper(self):
        store = yield self.make_store()
        other = yield self.make_store()
        yield store.add_mo_part("smsc", b"1:3:a:b", 2, 3, b"two", NOW, TIMEOUT, LEASE)
        yield store.add_mo_part("smsc", b"2:3:a:b", 1, 3, b"one", NOW + 10, TIMEOUT, LEASE)
        early = yield store.take_due_mo_sets("smsc", NOW + TIMEOUT - 1, LEASE)
        self.assertEqual(early, [])
        got = yield defer.gatherResults([
            store.take_due_mo_sets("smsc", NOW + TIMEOUT, LEASE),
            other.take_due_mo_sets("smsc", NOW + TIMEOUT, LEASE)])
        self.assertEqual(sorted(got, key=len), [[], [(b"1:3:a:b", {2: b"two"})]])
        # a part for a set being delivered waits (the upstream sends it again)
        busy = yield store.add_mo_part("smsc", b"1:3:a:b", 1, 3, b"one", NOW + TIMEOUT,
                                       TIMEOUT, LEASE)
        self.assertEqual(busy, (BUSY, None))

    @defer.inlineCallbacks
    def test_the_keys_carry_the_connectors_hash_tag(self):
        store = yield self.make_store()
        yield store.add_mo_part("up 1", b"9:2:a:b", 1, 2, b"one", NOW, TIMEOUT, LEASE)
        self.assertEqual(sorted(self.server.command("KEYS", "*")),
                         ["mop:{up 1}:9:2:a:b", "mox:{up 1}"])
        ttl = self.server.command("TTL", "mop:{up 1}:9:2:a:b")
        self.assertTrue(2 * TIMEOUT <= ttl <= 2 * TIMEOUT + LEASE + 1, ttl)


