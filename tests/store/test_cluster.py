"""The store on Redis Cluster: the whole workload on a one-node cluster
(RedisStore) and on a real three-node one (ClusterStore, store/cluster.py).

A cluster node refuses, with CROSSSLOT, any multi-key command or script whose
keys fall in different hash slots, whoever owns the slots. So on the one-node
cluster that owns every slot any batch that mixed the keys of two connectors
or two users, or a key without its {hash tag}, would fail; on three nodes
each command must also reach the node that serves its slot (a wrong one
answers MOVED, which the store follows and counts: after start-up it must
count none).
"""

import os
import tempfile

from twisted.internet import defer, reactor, task

from smpprouter.store.cluster import ClusterStore, slot_of
from smpprouter.store.interface import Mapping
from tests.redis_cluster import RedisCluster, cluster_port, shared_cluster
from tests.redis_server import RedisServer

from . import (test_credits, test_lease, test_links, test_lockout, test_moparts, test_outbound,
               test_redis, test_timeouts)
from .support import StoreTestCase, retry_until_ok, wait_for


_slot = slot_of


class _Workload:
    """Every store call, against whatever make_store() gives."""

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
    def test_mo_parts_workload_on_a_cluster_node(self):
        """Concatenated MOs' parts of several connectors in one turn, and the sweep."""
        store = yield self.make_store()
        connectors = ("smsc", "smsc-2", "{odd}")
        got = yield defer.gatherResults(
            [store.add_mo_part(c, b"%d:2:4477:100" % i, seq, 2, b"p%d" % seq, 1e9, 60, 15)
             for c in connectors for i in range(3) for seq in (1, 2)])
        self.assertEqual([code for code, _ in got], [0, 1] * 9)
        yield defer.gatherResults([store.mo_set_done(c, b"%d:2:4477:100" % i)
                                   for c in connectors for i in range(3)])
        yield defer.gatherResults([store.add_mo_part(c, b"9:3:4477:100", 1, 3, b"p", 1e9, 60, 15)
                                   for c in connectors])
        due = yield defer.gatherResults([store.take_due_mo_sets(c, 1e9 + 61, 15)
                                         for c in connectors])
        self.assertEqual([sorted(i for i, _ in sets) for sets in due],
                         [[b"9:3:4477:100"]] * 3)

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


class ClusterNodeTests(_Workload, StoreTestCase):
    timeout = 60

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="smpprouter-cluster-")
        self.server = RedisServer(directory, extra_args=[
            "--cluster-enabled", "yes",
            "--cluster-config-file", os.path.join(directory, "nodes.conf")])
        self.server.port = cluster_port()
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


class ThreeNodeClusterTests(_Workload, StoreTestCase):
    """The same workload through ClusterStore on three primaries."""

    def setUp(self):
        self.cluster = shared_cluster()
        self.cluster.flushall()

    @defer.inlineCallbacks
    def make_store(self, **kwargs):
        store = ClusterStore([(n.host, n.port) for n in self.cluster.nodes], **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        self.addCleanup(lambda: self.assertEqual(store.redirects["moved"], 0))
        return store

    def test_keys_are_spread_over_the_nodes(self):
        d = self.test_whole_workload_on_a_cluster_node()

        def check(_):
            # the workload's tags (smsc, smsc-2, odd, esme1, esme2, router...)
            # fall on more than one node: commands were routed, not sent to one
            holding = [n for n in self.cluster.nodes if n.command("DBSIZE")]
            self.assertGreaterEqual(len(holding), 2)
        return d.addCallback(check)

    def test_slots_are_the_nodes_own(self):
        """slot_of against CLUSTER KEYSLOT, for the store's keys and odd tags."""
        from smpprouter.store import keys
        names = ["smsc", "a{b}c", "{}", "Ωmega", "x}{y", "", "{{", "}"]
        samples = [k for n in names for k in (keys.mapping(n, "1"), keys.queue(n),
                                              n.encode("utf-8"), b"{" + n.encode() + b"}x")]
        samples += [b"123456789", b"{user1000}.following", b"foo{}{bar}", b"foo{{bar}}zap"]
        for key in samples:
            self.assertEqual(slot_of(key), self.cluster.nodes[0].command("CLUSTER", "KEYSLOT", key),
                             key)

    @defer.inlineCallbacks
    def test_seeds_that_do_not_answer_are_passed_over(self):
        dead = ("127.0.0.1", cluster_port())
        store = ClusterStore([dead] + [(n.host, n.port) for n in self.cluster.nodes[1:]],
                             timeout=2)
        yield store.start()
        self.addCleanup(store.stop)
        yield store.save_mapping("smsc", "1", Mapping("abc", "esme1", "", "", 1.0, 1, 1), 60)
        self.assertTrue(store.available)
        self.assertEqual(store.redirects["moved"], 0)

    @defer.inlineCallbacks
    def test_no_seed_answering_is_a_precise_error(self):
        from smpprouter.store.errors import StoreUnavailable
        store = ClusterStore([("127.0.0.1", cluster_port())], timeout=1)
        with self.assertRaises(StoreUnavailable) as cm:
            yield store.start()
        self.assertIn("no seed node answered CLUSTER SLOTS", str(cm.exception))




class ReshardingTests(StoreTestCase):
    """A slot moved between nodes (tests/redis_cluster.py move_slot: MIGRATING /
    IMPORTING, MIGRATE ten keys at a time, SETSLOT NODE) while the store writes
    and reads it every reactor turn: nothing written is lost, nothing read is
    missed, and the store ends up sending to the new owner directly."""

    timeout = 120

    def setUp(self):
        self.cluster = shared_cluster()
        self.cluster.flushall()

    @defer.inlineCallbacks
    def _traffic_while_moving(self, slot, turn, check):
        store = ClusterStore([(n.host, n.port) for n in self.cluster.nodes], timeout=10)
        yield store.start()
        self.addCleanup(store.stop)
        for i in range(30):                      # keys in the slot before it moves
            yield turn(store, i)
        # Each step of the move once the store has met it: the turn started
        # after the step has ended, or has been redirected or told to wait
        # (a multi-key write of new keys waits for the move's end: TRYAGAIN).
        i, turns = 30, []
        for step in self.cluster.move_slot(slot, batch=5):
            seen = sum(store.redirects.values())
            d = turn(store, i)
            turns.append(d)
            i += 1
            yield wait_for(lambda: d.called or sum(store.redirects.values()) > seen, 10)
        yield defer.gatherResults(turns)
        for _ in range(5):
            yield turn(store, i)
            i += 1
        yield check(store, i)
        self.assertGreater(store.redirects["ask"] + store.redirects["again"], 0)
        self.assertGreater(store.redirects["moved"], 0)
        moved = store.redirects["moved"]
        yield turn(store, i)                     # the map was refreshed: no more MOVED
        self.assertEqual(store.redirects["moved"], moved)

    def test_a_connectors_mappings_survive_its_slot_moving(self):
        mapping = Mapping("abc", "esme1", "MyBrand", "15551234567", 1.0, 1, 1)
        slot = slot_of(b"{smsc}")
        saved, missing = [], []

        @defer.inlineCallbacks
        def turn(store, i):
            # the synchronous path's two calls: save new mappings, read saved ones
            ids = ["u%d-%d" % (i, k) for k in range(5)]
            known = saved[-5:]
            saves = [store.save_mapping("smsc", u, mapping, 600, record=True) for u in ids]
            reads = [store.get_mapping("smsc", u, "2") for u in known]
            yield defer.gatherResults(saves)
            saved.extend(ids)
            found = yield defer.gatherResults(reads)
            missing.extend(u for u, m in zip(known, found) if m != mapping)

        @defer.inlineCallbacks
        def check(store, n):
            found = yield defer.gatherResults([store.get_mapping("smsc", "u%d-%d" % (i, k))
                                               for i in range(n) for k in range(5)])
            self.assertEqual(found, [mapping] * (5 * n))
            self.assertEqual(missing, [])
        return self._traffic_while_moving(slot, turn, check)

    def test_a_users_queue_survives_its_slot_moving(self):
        slot = slot_of(b"{esme1}")
        delivered = []

        @defer.inlineCallbacks
        def turn(store, i):
            yield defer.gatherResults([store.enqueue("esme1", b"r%d-%d" % (i, k))
                                       for k in range(5)])
            taken = yield store.claim("esme1", "c1", 3)
            delivered.extend(d.payload for d in taken)
            yield defer.gatherResults([store.ack("esme1", d.entry_id) for d in taken])

        @defer.inlineCallbacks
        def check(store, n):
            while True:
                taken = yield store.claim("esme1", "c1", 100)
                if not taken:
                    break
                delivered.extend(d.payload for d in taken)
                yield defer.gatherResults([store.ack("esme1", d.entry_id) for d in taken])
            expected = [b"r%d-%d" % (i, k) for i in range(n) for k in range(5)]
            self.assertEqual(delivered, expected)        # each once, in order
            self.assertEqual(self.cluster.command("XLEN", "dlv:{esme1}"), 0)
        return self._traffic_while_moving(slot, turn, check)


class OnThreeNodes(StoreTestCase):
    """A store test class's tests, as they are, through ClusterStore on three
    nodes: self.server is the cluster (its command() goes to the key's node)."""

    def setUp(self):
        self.cluster = self.server = shared_cluster()
        self.cluster.flushall()
        # the tests that make a second store of their own get a cluster one too
        for module in (test_redis, test_outbound):
            self.patch(module, "RedisStore", self._cluster_store)

    def _cluster_store(self, host=None, port=None, db=0, password=None, **kwargs):
        return ClusterStore([(n.host, n.port) for n in self.cluster.nodes], password, **kwargs)

    @defer.inlineCallbacks
    def make_store(self, server=None, **kwargs):
        store = self._cluster_store(**kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        # every command went to its slot's node at once
        self.addCleanup(lambda: self.assertEqual(store.redirects["moved"], 0))
        return store


def _on_three_nodes(*classes):
    """OnThreeNodes variants of store test classes, named <Class>OnThreeNodes."""
    made = {}
    for cls in classes:
        name = cls.__name__ + "OnThreeNodes"
        made[name] = type(name, (cls, OnThreeNodes), {"__module__": __name__})
    return made


globals().update(_on_three_nodes(
    test_redis.MappingTests, test_redis.BatchingTests, test_redis.QueueTests,
    test_redis.NotificationTests, test_redis.IdTests,
    test_outbound.EnqueueTests, test_outbound.TakeTests, test_outbound.ReclaimAndTouchTests,
    test_outbound.FinishTests, test_outbound.StateTests, test_outbound.ScheduleTests,
    test_outbound.CancelReplaceTests, test_outbound.BatchingTests,
    test_outbound.NotificationTests, test_outbound.ClientSideTests,
    test_outbound.HotPathRecordTests, test_outbound.ExpiryTests,
    test_credits.CreditTests, test_lockout.LockoutStoreTests, test_lease.LeaseTests,
    test_links.LinkStoreTests, test_timeouts.TimeoutTests, test_moparts.PartTests))


class FailoverTests(StoreTestCase):
    """A primary killed: the cluster promotes its replica, and the store, told
    by the lost connection, reads the slot map again and goes on with it."""

    timeout = 90

    def setUp(self):
        self.cluster = RedisCluster(node_timeout=1000).start()
        self.addCleanup(self.cluster.cleanup)

    @defer.inlineCallbacks
    def test_the_promoted_replica_takes_over(self):
        """The primary killed is the one holding the store's subscriber
        connection, too: notifications resume on another node."""
        from smpprouter.store.errors import StoreUnavailable
        mapping = Mapping("abc", "esme1", "MyBrand", "15551234567", 1.0, 1, 1)
        store = ClusterStore([(n.host, n.port) for n in self.cluster.nodes], timeout=2)
        yield store.start()
        self.addCleanup(store.stop)
        primary = next(n for n in self.cluster.nodes
                       if "%s:%d" % (n.host, n.port) == store._subscribed_to)
        name = next(c for c in ("c%d" % i for i in range(1000))
                    if self.cluster.owner(slot_of(c.encode())) is primary)
        replica = self.cluster.add_replica(primary)
        notified = []
        yield store.subscribe("esme1", notified.append)
        yield defer.gatherResults([store.save_mapping(name, "a%d" % i, mapping, 600)
                                   for i in range(20)])
        primary.command("WAIT", 1, 5000)        # the replica has them
        primary.stop()
        with self.assertRaises(StoreUnavailable):   # before the cluster fails over
            yield store.save_mapping("smsc", "lost", mapping, 600)
        self.assertFalse(store.available)
        # within the cluster's failover time (node timeout 1 s, then an election)
        yield retry_until_ok(lambda: store.save_mapping(name, "b", mapping, 600), timeout=30)
        self.assertEqual(self.cluster.owner(slot_of(name.encode())).port, replica.port)
        found = yield defer.gatherResults([store.get_mapping(name, "a%d" % i)
                                           for i in range(20)] + [store.get_mapping(name, "b")])
        self.assertEqual(found, [mapping] * 21)
        yield wait_for(lambda: store.available, 5)
        self.assertNotEqual(store._subscribed_to, "%s:%d" % (primary.host, primary.port))
        yield wait_for(lambda: len(notified) >= 2, 10)   # subscribed again: called once
        before = len(notified)
        yield store.enqueue("esme1", b"receipt")
        yield wait_for(lambda: len(notified) > before, 10)
