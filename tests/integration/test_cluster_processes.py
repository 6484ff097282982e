"""Two router processes on a three-node Redis Cluster (tests/redis_cluster.py),
carrying messages with receipts while slots move between the nodes.

The router is given the cluster as `redis+cluster://` seed nodes (the
--redis-url override); its store routes each command by hash slot
(store/cluster.py). A slot is moved as `redis-cli --cluster reshard` moves
one (MIGRATING / IMPORTING, MIGRATE a few keys at a time, SETSLOT NODE),
from a thread, as an operator would, while the ESME keeps submitting: the
connector's slot (its mappings and records) and then the user's (its
delivery stream, with the entries pending in its consumer group).
"""

from twisted.internet import defer, threads

from smpprouter.store.cluster import slot_of
from tests.redis_cluster import shared_cluster

from .harness import run
from .processes import RouterProcesses
from .test_processes import A, B, MESSAGE, AckingReceiver, ProcessTestCase, statuses


class ClusterProcessTests(ProcessTestCase):
    timeout = 120

    def setUp(self):
        self.cluster = shared_cluster()
        self.cluster.flushall()
        for node in self.cluster.nodes:
            node.command("CONFIG", "RESETSTAT")
        self.h = RouterProcesses(self.cluster, workers=2, redis_config="claim_idle = 1")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_receipts_across_processes_while_slots_move(self):
        """TX on A, RX on B: every message accepted and its receipt delivered
        exactly once, through two slot moves in the middle of the traffic."""
        async def go():
            tx = await self.h.bind(A, "transmitter")
            receiver = AckingReceiver()
            rx = await self.h.bind(B, "receiver", deliver_resp_status=receiver)
            resps = []

            async def send_while(moving):
                """Batches of 20 submits until the move ended, then one more."""
                while True:
                    done = moving.called
                    batch = await defer.gatherResults(
                        [tx.submit(**MESSAGE) for _ in range(20)], consumeErrors=True)
                    resps.extend(batch)
                    if done:
                        return

            resps.extend(await defer.gatherResults([tx.submit(**MESSAGE) for _ in range(100)]))
            moves = {}
            for tag in (b"{smsc}", b"{esme1}"):
                slot = slot_of(tag)
                before = self.cluster.owner(slot).port
                moving = threads.deferToThread(
                    lambda: list(self.cluster.move_slot(slot, batch=2)))
                await send_while(moving)
                moves[tag] = (before, self.cluster.owner(slot).port, await moving)
            for tag, (before, after, steps) in moves.items():
                self.assertNotEqual(before, after, tag)
                self.assertEqual(steps[-1], "done")
            self.assertEqual(statuses(resps), {"ESME_ROK": len(resps)})
            accepted = {r.message_id for r in resps}
            self.assertEqual(len(accepted), len(resps), "router ids are not unique")

            def state():
                """a receipt on B for every message"""
                return "%d accepted, %d receipts, XLEN %d, SMSC acks %s" % (
                    len(accepted), len(receiver.received), self.h.xlen(), self.smsc_acks())
            await self.until(lambda: len(receiver.received) >= len(accepted)
                             and self.h.xlen() == 0, 30, state)
            await rx.enquire_link()    # whatever the router wrote before is read now
            self.assertEqual(set(receiver.received), accepted)
            twice = [i for i, n in receiver.received.items() if n > 1]
            self.assertEqual(twice, [], "receipts delivered more than once")
            self.assertEqual(tx.deliveries, [])
            self.assertEqual(self.h.smsc.message_count, len(resps))
            await self.acked(len(resps))
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": len(resps)})
            # the routers met the slots half moved (ASK, then ASKING on the target)
            self.assertGreater(self.cluster.command_calls().get("asking", 0), 0)
            # both processes wrote through the cluster: the keys are spread
            self.assertGreaterEqual(sum(1 for n in self.cluster.nodes if n.command("DBSIZE")), 2)
        return run(go())
