"""Two real router processes charging one prepaid user at once: the balance
is one Redis key both scripts guard, so however the submissions interleave
the user is never overdrawn and the ledger sums to what is left."""

import os
import sys

from twisted.internet import defer, utils
from twisted.trial.unittest import TestCase

from smpprouter.smpp.status import Status

from ..redis_server import shared
from ..store.support import wait_for
from .harness import run
from .processes import RouterProcesses

ROK = Status.ESME_ROK
PRICE = 7
TOP_UP = 1000
EACH = 100       # submissions per process, all at once
ROUTES = """
[[mt]]
name = "us"
destination_prefix = ["1"]
connectors = ["smsc"]
price = %d
""" % PRICE
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, registered_delivery=1)
SMPPROUTER = os.path.join(os.path.dirname(sys.executable), "smpprouter")


class TwoProcessesChargingTests(TestCase):
    timeout = 90

    def setUp(self):
        self.redis = shared()
        self.redis.command("FLUSHALL")
        self.h = RouterProcesses(self.redis, workers=2, routes=ROUTES,
                                 users={"esme2": 'billing = "prepaid"'})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def ledger(self):
        entries = self.redis.command("XRANGE", "ledger:{esme2}", "-", "+")
        return [dict(zip(f[::2], f[1::2])) for _, f in entries]

    def test_never_overdrawn_and_the_ledger_sums_to_the_balance(self):
        async def go():
            # Topped up as an operator does, with the CLI on the shared config.
            out, err, code = await utils.getProcessOutputAndValue(
                SMPPROUTER, ["credit", "esme2", "+%d" % TOP_UP, "--config", self.h.config_path,
                             "--reason", "top-up"], env=os.environ)
            self.assertEqual(code, 0, (out, err))
            clients = [await self.h.bind(0, user="esme2"), await self.h.bind(1, user="esme2")]
            resps = await defer.gatherResults(
                [c.submit(**dict(MESSAGE, short_message=b"m%d" % i))
                 for i in range(EACH) for c in clients])
            statuses = [r.command_status for r in resps]
            accepted = TOP_UP // PRICE
            self.assertEqual(statuses.count(ROK), accepted)
            self.assertEqual(statuses.count(Status.ESME_RINVBALANCE), 2 * EACH - accepted)
            self.assertEqual(int(self.redis.command("GET", "bal:{esme2}")), TOP_UP % PRICE)
            self.assertEqual(self.h.smsc.message_count, accepted)
            entries = self.ledger()
            self.assertEqual(sum(int(e["amount"]) for e in entries), TOP_UP % PRICE)
            self.assertEqual(int(entries[-1]["balance"]), TOP_UP % PRICE)
            self.assertEqual([e["kind"] for e in entries], ["credit"] + ["charge"] * accepted)
            # Both processes charged, each under its own name.
            self.assertEqual(len({e["who"] for e in entries if e["kind"] == "charge"}), 2)
            # Every receipt answered upstream before the routers stop.
            await wait_for(lambda: sum(self.h.smsc.deliver_resp_statuses.values()) >= accepted)
        return run(go())
