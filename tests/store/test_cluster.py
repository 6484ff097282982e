"""The key layout is Redis Cluster-safe, checked by a Redis Cluster node itself.

txredisapi has no cluster client (no MOVED/ASK handling), so the store cannot
run against a real multi-node cluster yet. But a cluster node refuses, with
CROSSSLOT, any multi-key command or script whose keys fall in different hash
slots, whoever owns the slots. So the whole store workload runs here against
a one-node cluster that owns every slot: any batch that mixed the keys of two
connectors or two users, or a key without its {hash tag}, would fail.
"""

import os
import random
import socket
import tempfile

from twisted.internet import defer, reactor, task

from smpprouter.store.interface import Mapping
from tests.redis_server import RedisServer

from .support import StoreTestCase, wait_for


def _cluster_port():
    """A free port whose cluster bus port (+10000) is free too; a cluster node
    refuses a port above 55535."""
    for _ in range(200):
        port = random.randint(20000, 55535)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _slot(key: bytes) -> int:
    """Redis Cluster's HASH_SLOT: CRC16-XMODEM of the {tag} (or the key) mod 16384."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    crc = 0
    for byte in key:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


class ClusterNodeTests(StoreTestCase):
    timeout = 60

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="smpprouter-cluster-")
        self.server = RedisServer(directory, extra_args=[
            "--cluster-enabled", "yes",
            "--cluster-config-file", os.path.join(directory, "nodes.conf")])
        self.server.port = _cluster_port()
        self.server.start()
        self.addCleanup(self.server.cleanup)
        self.server.command("CLUSTER", "ADDSLOTS", *range(16384))
        return self._wait_ok()

    @defer.inlineCallbacks
    def _wait_ok(self):
        for _ in range(500):
            info = self.server.command("CLUSTER", "INFO")
            if "cluster_state:ok" in info:
                return
            yield task.deferLater(reactor, 0.01, lambda: None)
        raise AssertionError("cluster node not ready: %r" % info)

    def test_the_node_does_refuse_cross_slot_batches(self):
        # The check this test relies on: without hash tags, two keys in one
        # command are (almost surely) in different slots and get CROSSSLOT.
        self.assertNotEqual(_slot(b"map:a:1"), _slot(b"map:b:1"))
        with self.assertRaises(Exception) as cm:
            self.server.command("MSET", "map:a:1", "x", "map:b:1", "y")
        self.assertIn("CROSSSLOT", str(cm.exception))

    @defer.inlineCallbacks
    def test_whole_workload_on_a_cluster_node(self):
        store = yield self.make_store()
        mapping = Mapping("abc", "esme1", "MyBrand", "15551234567", 1.0, 1, 1)
        # Many mappings of several connectors in one turn: one script per connector.
        saves = [store.save_mapping(c, "id%d" % i, mapping, 60)
                 for c in ("smsc", "smsc-2", "{odd}") for i in range(50)]
        yield defer.gatherResults(saves)
        found = yield defer.gatherResults([store.get_mapping(c, "id7")
                                           for c in ("smsc", "smsc-2", "{odd}")])
        self.assertEqual(found, [mapping] * 3)
        # Queues of several users in one turn: one script per user.
        yield defer.gatherResults([store.enqueue(u, b"payload-%d" % i)
                                   for u in ("esme1", "esme2") for i in range(20)])
        for user in ("esme1", "esme2"):
            entries = yield store.claim(user, "c1", 100)
            self.assertEqual(len(entries), 20)
            yield defer.gatherResults([store.ack(user, e.entry_id) for e in entries[:10]])
            pending = yield store.pending(user, "c1", 100)
            self.assertEqual(len(pending), 10)
            taken = yield store.reclaim(user, "c2", 0, 100)
            self.assertEqual(len(taken), 10)
        # Sessions across processes.
        admitted = yield store.open_session("esme1", "p/1", 2, 30)
        self.assertTrue(admitted)
        total = yield store.refresh_sessions("esme1", ["p/1"], 30)
        self.assertEqual(total, 1)
        yield store.close_session("esme1", "p/1")
        # Failed binds: each subject's keys in its own slot, several in one turn.
        locked = yield defer.gatherResults([store.bind_failed(s, 2, 60, 300)
                                            for s in ("ip:10.0.0.1", "id:esme1") * 2])
        self.assertEqual(locked, [False, False, True, True])
        remaining = yield store.lockout(["ip:10.0.0.1", "id:esme2"])
        self.assertEqual(remaining[1], 0.0)
        yield store.bind_succeeded("id:esme1")
        block = yield store.allocate_id_block()
        self.assertGreater(block, 0)

    @defer.inlineCallbacks
    def test_credit_workload_on_a_cluster_node(self):
        """Charges, refunds and top-ups of several users in the same turns."""
        store = yield self.make_store()
        users = ("esme1", "esme2", "{odd}")
        yield defer.gatherResults([store.credit(u, 100, "ops", "") for u in users])
        charged = yield defer.gatherResults([store.charge(u, 10, "m%d" % i, ttl=60, flag="u")
                                             for u in users for i in range(3)])
        self.assertEqual([b for b, _ in charged], [90, 80, 70] * 3)
        refunded = yield defer.gatherResults([store.refund(u, "m1", mode="u") for u in users])
        self.assertEqual(refunded, [80] * 3)
        balances = yield defer.gatherResults([store.balance(u) for u in users])
        self.assertEqual(balances, [80] * 3)
        entries = yield store.ledger("{odd}")
        self.assertEqual(len(entries), 5)

    @defer.inlineCallbacks
    def test_outbound_workload_on_a_cluster_node(self):
        """Every IOutboundStore call, on several connectors in the same turns."""
        store = yield self.make_store()
        connectors = ("smsc", "smsc-2", "{odd}")
        calls = []
        for c in connectors:
            yield store.subscribe_outbound(c, calls.append)
        yield defer.gatherResults([
            store.enqueue_outbound(c, f"m{i}", "esme1", b"blob", i % 2, None, 60)
            for c in connectors for i in range(20)]
            + [store.enqueue_outbound(c, f"s{i}", "esme1", b"blob", i % 2, 1e10, 60, 5e10)
               for c in connectors for i in range(10)])
        self.assertEqual((yield defer.gatherResults([store.move_due(c, 2e10, 5)
                                                     for c in connectors])), [5] * 3)
        for c in connectors:
            self.assertEqual((yield store.outbound_depth(c)), 30)
            taken = yield store.take_outbound(c, "c1", 10)
            self.assertEqual(len(taken), 10)
            yield store.touch_outbound(c, "c1", taken)
            self.assertEqual(len((yield store.pending_outbound(c, "c1", 100))), 10)
            reclaimed = yield store.reclaim_outbound(c, "c2", 0, 100)
            self.assertEqual(len(reclaimed), 10)
            yield store.requeue_outbound(c, reclaimed[0])
            self.assertTrue((yield store.cancel_message(c, "s9", "esme1")))
            self.assertTrue((yield store.replace_message(c, "s8", "esme1", b"new", 3e10)))
            self.assertTrue((yield store.replace_message(c, "s7", "esme1", b"new", 1.0)))
            record = yield store.get_message(["nowhere", c], "s8")
            self.assertEqual(record.blob, b"new")
            self.assertTrue((yield store.replace_message(c, "s6", "esme1", b"new", None, 6e10)))
            expired = yield store.expire_due(c, 5.5e10, 10, 100)
            # s0..s5, s7, s8 (queued or scheduled); s6 lives longer; s9 cancelled
            self.assertEqual(sorted(m for m, _ in expired), ["s0", "s1", "s2", "s3", "s4", "s5", "s7", "s8"])
            yield store.finish_expired(c, [m for m, _ in expired])
        # the hot calls of several connectors in one turn: one script each
        mapping = Mapping("abc", "esme1", "MyBrand", "15551234567", 1.0, 1, 1)
        held = {}
        for c in connectors:
            store.watch_receipts(c, 1)   # due:{c} in the scripts that save and read mappings
            held[c] = yield store.pending_outbound(c, "c2", 100)
        yield defer.gatherResults(
            [store.finish_outbound(c, e, "U", upstream_id="u")
             for c in connectors for e in held[c]]
            + [store.set_state(c, f"m{i}", "2") for c in connectors for i in range(3)]
            + [store.record_sent(c, f"r{i}", "esme1", 60) for c in connectors for i in range(3)]
            + [store.save_mapping(c, f"u{i}", mapping, 60) for c in connectors for i in range(3)]
            + [store.save_mapping(c, f"v{i}", mapping, 60, record=True)
               for c in connectors for i in range(3)])
        yield defer.gatherResults([store.get_mapping(c, f"v{i}", "2")
                                   for c in connectors for i in range(3)])
        for c in connectors:   # the receipt timeouts' sweep (store/timeouts.py)
            overdue = yield store.take_overdue(c, 1e10, 60, 100)
            self.assertEqual(sorted(m for m, _ in overdue), ["u0", "u1", "u2"])
            yield store.finish_overdue(c, [(m, b"") for m, _ in overdue])
        yield store.enqueue("esme1", b"receipt")
        held = yield store.claim("esme1", "c1", 10)
        yield store.touch("esme1", "c1", [d.entry_id for d in held])
        yield wait_for(lambda: len(calls) >= 6)

    @defer.inlineCallbacks
    def test_smart_link_workload_on_a_cluster_node(self):
        """Links of several users and tokens, and their clicks, in the same turns."""
        from smpprouter.store.links import LinkRecord
        store = yield self.make_store()
        records = {"Tok%07d" % i: LinkRecord("https://e.com/", u, "1555", "5", 2 ** 31, "")
                   for i, u in enumerate(("esme1", "esme2", "{odd}") * 3)}
        saved = yield defer.gatherResults([store.save_link(t, r) for t, r in records.items()])
        self.assertEqual(saved, [True] * 9)
        yield defer.gatherResults(
            [store.link_message(t, LinkRecord(r.target, r.user, r.destination, r.link_id,
                                              r.expires, "", "m-" + t))
             for t, r in records.items()]
            + [store.init_clicks(r.user, "m-" + t, ["5"], r.expires)
               for t, r in records.items()])
        found = yield defer.gatherResults([store.follow_link(t) for t in records])
        counts = yield defer.gatherResults([store.count_click(r.user, r.message_id, "5",
                                                              r.expires) for r in found])
        self.assertEqual(counts, [1] * 9)
        clicks = yield defer.gatherResults([store.clicks(r.user, r.message_id)
                                            for r in found])
        self.assertEqual(clicks, [{"5": 1}] * 9)
        yield defer.gatherResults([store.drop_link(t) for t in records])

    def test_keys_of_one_batch_share_a_slot(self):
        from smpprouter.store import keys
        for name in ("smsc", "a{b}c", "{}", "Ωmega"):
            slots = {_slot(keys.mapping(name, str(i))) for i in range(100)}
            self.assertEqual(len(slots), 1, name)
        from smpprouter.store import timeouts
        for name in ("smsc", "a{b}c", "{}"):
            self.assertEqual(_slot(timeouts.key(name)), _slot(keys.mapping(name, "1")), name)
        for user in ("esme1", "x{y}", "ünï"):
            self.assertEqual(_slot(keys.queue(user)), _slot(keys.queue(user) + b"-other"))
        for name in ("smsc", "a{b}c", "{}", "Ωmega"):
            slots = {_slot(keys.message(name, str(i))) for i in range(100)}
            slots |= {_slot(keys.outbound(name)), _slot(keys.outbound(name, True)),
                      _slot(keys.schedule(name)), _slot(keys.message(name, ""))}
            self.assertEqual(len(slots), 1, name)
