"""due:{c} on a real Redis: written by the mapping's save, ended by a final
receipt's lookup, leased to one sweep at a time, finished into a marker."""

from twisted.internet import defer

from smpprouter.store.codec import encode_mapping
from smpprouter.store.interface import Mapping

from .support import StoreTestCase

T0 = 1_800_000_000.0


def mapping(message_id, rd=1, part=0):
    return Mapping(message_id, "esme1", "src", "dst", T0, 2 if part else 1, rd, "", "", part)


class TimeoutTests(StoreTestCase):
    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.now = T0
        self.store = yield self.make_store(clock=lambda: self.now)
        self.store.watch_receipts("smsc", 100)

    def due(self):
        return self.server.command("ZRANGE", "due:{smsc}", 0, -1, "WITHSCORES")

    @defer.inlineCallbacks
    def test_a_mapping_asking_for_a_receipt_is_due_in_its_saving_script(self):
        flushes = self.store.commands
        yield defer.gatherResults([
            self.store.save_mapping("smsc", "u1", mapping("r1"), 1000, record=True),
            self.store.save_mapping("smsc", "u2", mapping("r2", rd=0), 1000),   # none asked
            self.store.save_mapping("other", "u3", mapping("r3"), 1000)])      # no timeout
        self.assertEqual(self.store.commands - flushes, 2)   # no command of its own
        self.assertEqual(self.due(), ["u1", str(int((T0 + 100) * 1000))])
        self.assertEqual(self.server.command("EXISTS", "due:{other}"), 0)

    @defer.inlineCallbacks
    def test_a_turn_whose_mappings_all_wait_names_them_by_their_keys(self):
        odd = ["u{1}", "é \ud800 ", "u:3"]   # members cut off their keys, byte for byte
        yield defer.gatherResults(
            [self.store.save_mapping("smsc", odd[0], mapping("r1"), 1000, record=True),
             self.store.save_mapping("smsc", odd[1], mapping("r2"), 1000, record=True)])
        yield self.store.save_mapping("smsc", odd[2], mapping("r3"), 1000)
        members = yield self.store._command(b"ZRANGE", b"due:{smsc}", 0, -1)   # raw bytes
        self.assertEqual(sorted(members),
                         sorted(m.encode("utf-8", "surrogatepass") for m in odd))

    @defer.inlineCallbacks
    def test_one_batch_of_final_receipts_ends_the_waits_a_lease_keeps_its_own(self):
        yield defer.gatherResults([self.store.save_mapping("smsc", "u%d" % i,
                                                           mapping("r%d" % i), 1000)
                                   for i in range(4)])
        self.server.command("ZADD", "due:{smsc}", -(T0 + 500) * 1000, "u2")   # a sweep's
        found = yield defer.gatherResults([
            self.store.get_mapping("smsc", "u0", "2"), self.store.get_mapping("smsc", "u1"),
            self.store.get_mapping("smsc", "u2", "2"), self.store.get_mapping("smsc", "u0", "2"),
            self.store.get_mapping("smsc", "nope", "2")])
        self.assertEqual([m and m.message_id for m in found], ["r0", "r1", None, "r0", None])
        self.assertEqual(self.due()[::2], ["u2", "u1", "u3"])
        # saved without a record: the final state leaves none behind
        self.assertEqual(self.server.command("EXISTS", "msg:{smsc}:r0"), 0)

    @defer.inlineCallbacks
    def test_a_final_receipt_ends_the_wait_an_intermediate_does_not(self):
        yield self.store.save_mapping("smsc", "u1", mapping("r1"), 1000)
        yield self.store.get_mapping("smsc", "u1")           # intermediate: MGET
        self.assertEqual(len(self.due()), 2)
        found = yield self.store.get_mapping("smsc", "u1", "2")
        self.assertEqual(found.message_id, "r1")
        self.assertEqual(self.due(), [])
        self.assertEqual((yield self.store.take_overdue("smsc", T0 + 200, 60, 10)), [])

    @defer.inlineCallbacks
    def test_overdue_leased_to_one_sweep_then_finished_into_a_marker(self):
        yield self.store.save_mapping("smsc", "u1", mapping("r1"), 1000)
        yield self.store.save_mapping("smsc", "u2", mapping("r2"), 1000)
        self.assertEqual((yield self.store.take_overdue("smsc", T0 + 99, 60, 10)), [])
        # a second process (its own store) sweeping at the same time gets none twice
        other = yield self.make_store()
        taken, again = yield defer.gatherResults([
            self.store.take_overdue("smsc", T0 + 100, 60, 10),
            other.take_overdue("smsc", T0 + 100, 60, 10)])
        self.assertEqual(sorted(m for m, _ in taken + again), ["u1", "u2"])
        self.assertEqual(sorted(mp.message_id for _, mp in taken + again), ["r1", "r2"])
        # a final receipt while the sweep holds it: no mapping yet, nothing recorded
        self.assertIsNone((yield self.store.get_mapping("smsc", "u1", "2")))
        # the lease runs out (its sweep died): taken again
        self.assertEqual((yield self.store.take_overdue("smsc", T0 + 159, 60, 10)), [])
        retaken = yield other.take_overdue("smsc", T0 + 161, 60, 10)
        self.assertEqual(sorted(m for m, _ in retaken), ["u1", "u2"])
        marker = encode_mapping(mapping("r1", rd=0x80))
        yield other.finish_overdue("smsc", [("u1", marker), ("u2", b"")])
        self.assertEqual(self.due(), [])
        self.assertEqual(self.server.command("GET", "map:{smsc}:u1"), marker.decode())
        self.assertGreater(int(self.server.command("TTL", "map:{smsc}:u1")), 900)  # kept
        late = yield self.store.get_mapping("smsc", "u1", "2")
        self.assertEqual(late.registered_delivery, 0x80)
        self.assertEqual(self.server.command("GET", "map:{smsc}:u2")[:6], '["r2",')  # left

    @defer.inlineCallbacks
    def test_a_mapping_gone_is_dropped_and_a_restarted_store_still_finds_the_rest(self):
        yield self.store.save_mapping("smsc", "u1", mapping("r1"), 1000)
        yield self.store.save_mapping("smsc", "u2", mapping("r2"), 1000)
        self.server.command("DEL", "map:{smsc}:u2")
        yield self.store.stop()
        restarted = yield self.make_store()   # nothing of it lives in the process
        taken = yield restarted.take_overdue("smsc", T0 + 100, 60, 10)
        self.assertEqual([m for m, _ in taken], ["u1"])
        self.assertEqual([m for m in self.due()[::2]], ["u1"])
