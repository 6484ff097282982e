"""A router on a Redis primary watched by a sentinel, through a failover mid-traffic.

Each test starts a primary, its replica and one sentinel (quorum 1) on
loopback, a router in the test process whose [redis] names the sentinel, and
an ESME that keeps submitting with receipts asked for. SENTINEL FAILOVER
promotes the replica while traffic flows; the router must follow the new
primary and service go on. Then every message the ESME heard ESME_ROK for is
checked for its receipt: what is missing is what the failover lost, and it
is held to docs/DESIGN.md's promise ("Scaling Redis"):

- wait_replicas = 1: nothing answered ESME_ROK (an acceptance) or acknowledged
  to the upstream (a receipt) is lost.
- wait_replicas = 0: only what was answered while the failover was under way
  (between SENTINEL FAILOVER and the router's switch) may be lost.
"""

import atexit

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from smpprouter.smpp.status import Status
from smpprouter.store import keys
from tests.sentinel_servers import MASTER, SentinelServers

from ..store.support import wait_for
from .harness import RouterHarness, run
from .test_processes import MESSAGE, AckingReceiver

ROK = Status.ESME_ROK
BEFORE = 200      # messages accepted before the failover
AFTER = 200       # and after the router switched: service goes on
RECEIPT_WAIT = 2  # connector receipt_wait: a receipt whose mapping was lost ends soon
RECEIPT_DELAY = 3  # the SMSC's receipts come after the switch: a lost mapping shows

_servers = None


def servers():
    """One primary/replica/sentinel set for the module; each test fails over once,
    so the primary alternates between the two nodes."""
    global _servers
    if _servers is None:
        _servers = SentinelServers(sentinels=1, replicas=2)
        atexit.register(_servers.cleanup)
        _servers.start()
    return _servers


class Traffic:
    """Keeps `window` submits with receipts in flight until stopped; counts what
    was accepted, and when."""

    def __init__(self, client, window=10):
        self.client = client
        self.window = window
        self.accepted = []     # router ids, in the order their ESME_ROK came
        self.refused = 0       # any other status (the store away: ESME_RTHROTTLED ...)
        self.running = True
        self.done = defer.Deferred.fromCoroutine(self._pump())

    async def _pump(self):
        while self.running:
            resps = await defer.gatherResults(
                [self.client.submit(**MESSAGE) for _ in range(self.window)],
                consumeErrors=True)
            for resp in resps:
                if resp.command_status == ROK:
                    self.accepted.append(resp.message_id)
                else:
                    self.refused += 1

    def stop(self):
        self.running = False
        return self.done


class Failover:
    timeout = 60
    wait_replicas = None

    def setUp(self):
        self.servers = servers()
        self.servers.wait_until(self.servers.ready, 20,
                                "the sentinel to see the replicas it could promote")
        sentinels = ", ".join('"%s:%d"' % a for a in self.servers.sentinel_addresses)
        self.h = RouterHarness(
            redis='sentinels = [%s]\nmaster = "%s"\nwait_replicas = %d\nwait_timeout = 0.5'
                  % (sentinels, MASTER, self.wait_replicas),
            connector="receipt_wait = %d" % RECEIPT_WAIT,
            smsc=dict(receipt_delay=RECEIPT_DELAY))
        self.servers.primary().command("FLUSHALL")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def fail_over(self):
        """Traffic through a failover; (traffic, receiver, accepted when the
        failover was asked for, accepted when the router had switched)."""
        store = self.h.service.store
        trx = await self.h.bind("transceiver", deliver_resp_status=AckingReceiver())
        traffic = Traffic(trx)
        await wait_for(lambda: len(traffic.accepted) >= BEFORE, 20)
        old = self.servers.primary_address()
        at_failover = len(traffic.accepted)
        self.servers.sentinels[0].command("SENTINEL", "FAILOVER", MASTER)
        await wait_for(lambda: store._sentinels.switches >= 1, 15)
        at_switch = len(traffic.accepted)
        new = self.servers.primary_address()
        self.assertNotEqual(new, old)
        await wait_for(lambda: len(traffic.accepted) >= at_switch + AFTER, 15)
        await traffic.stop()
        peer = store._connection().transport.getPeer()
        self.assertEqual((peer.host, peer.port), new)   # on the new primary
        return traffic, trx.deliver_resp_status, at_failover, at_switch

    async def receipts_settled(self, traffic, receiver):
        """Once every receipt the SMSC made is acknowledged by the router, no
        spooled one is left and the ESME's queue is empty: the accepted ids
        that got no receipt."""
        smsc, spool = self.h.smsc, self.h.core.spooling.spool
        queue = keys.queue("esme1")

        def settled():
            answered = smsc.deliver_resp_statuses[ROK] + smsc.deliveries_refused
            return (answered >= smsc.responses_sent
                    and not any(session.pending for session in smsc.sessions)
                    and not any(smsc._queued.values()) and spool.size == 0
                    and self.servers.primary().command("XLEN", queue) == 0)
        await wait_for(settled, RECEIPT_DELAY + RECEIPT_WAIT + 15)
        return set(traffic.accepted) - set(receiver.received)


class FailoverTests(Failover, TestCase):
    wait_replicas = 1

    def test_nothing_accepted_is_lost(self):
        async def go():
            traffic, receiver, _, _ = await self.fail_over()
            missing = await self.receipts_settled(traffic, receiver)
            self.assertEqual(sorted(missing), [])
            # receipts without a mapping: only of messages the ESME was not told
            # were accepted (in flight when the store went away: ESME_RSYSERR)
            counters = self.h.core.counters
            self.assertLessEqual(counters["receipts_unknown"], counters["sent_unrecorded"])
            self.assertGreater(len(traffic.accepted), BEFORE + AFTER - 1)
        return run(go())


class FailoverWithoutWaitTests(Failover, TestCase):
    wait_replicas = 0

    def test_loss_is_bounded_by_the_switch(self):
        async def go():
            traffic, receiver, at_failover, at_switch = await self.fail_over()
            missing = await self.receipts_settled(traffic, receiver)
            window = set(traffic.accepted[at_failover - 10:at_switch + 10])   # ± one window
            self.assertEqual(sorted(missing - window), [])
            self.assertGreater(len(traffic.accepted), BEFORE + AFTER - 1)
        return run(go())
