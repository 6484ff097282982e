"""An upstream that drops its binds under load (the simulator's drop_every).

Each drop loses what was in flight on that bind (the simulator ignores the
rest of what the router sent in that read): those fail with the bind, and
the upstream never accepted them. The connector dials a bind that was up
again at once, and its other bind serves meanwhile. The two binds take
turns, so both reach their 300th submit together and drop together: what
arrives in the few milliseconds before a bind is back is held by the
connector (hold_unbound) and sent once it is. When the core picked
connectors by `up`, those were answered ESME_RSYSERR at once (measured:
94-97% accepted); now 2,000 of 2,000.
"""

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from smpprouter.smpp.status import Status

from .harness import RouterHarness, run

MESSAGES = 2000
DROP_EVERY = 300


class FlapTests(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(connector="binds = 2\nhold_unbound = 5",
                               smsc=dict(drop_every=DROP_EVERY, record=False))
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start(binds=2))

    def test_binds_dropping_under_load(self):
        return run(self.flap(0.95, held=True))

    def flap(self, least, held):
        async def go():
            sessions = [await self.h.bind("transceiver"), await self.h.bind("transceiver")]
            texts = [b"flap %d" % i for i in range(MESSAGES)]
            answers = await defer.gatherResults([
                sessions[i % 2].submit(source_addr="MyBrand", destination_addr="15551234567",
                                       short_message=text)
                for i, text in enumerate(texts)])
            statuses = [resp.command_status for resp in answers]
            accepted = [t for t, s in zip(texts, statuses) if s == Status.ESME_ROK]
            refused = [t for t, s in zip(texts, statuses) if s != Status.ESME_ROK]
            share = len(accepted) / MESSAGES
            connector = self.h.core.connectors["smsc"]
            await connector.when_up(2)
            smsc = self.h.smsc
            stats = smsc.stats()
            print("\nflaps: %d of %d accepted (%.1f%%), binds dropped %d, counters %s"
                  % (len(accepted), MESSAGES, 100 * share, stats["binds_dropped"],
                     connector.counters))
            self.assertGreaterEqual(share, least)
            self.assertEqual(connector.counters["held_expired"], 0)
            if not held:
                self.assertEqual(connector.counters["held"], 0)
            # The drops did happen, and the connector saw each and came back.
            self.assertGreaterEqual(stats["binds_dropped"], MESSAGES // DROP_EVERY - 1)
            self.assertEqual(connector.counters["binds_down"], stats["binds_dropped"])
            self.assertEqual(connector.counters["binds_up"], 2 + stats["binds_dropped"])
            # Accepted: upstream once. Refused: lost with their bind, never
            # accepted upstream; and nothing went upstream twice.
            key = "15551234567"
            self.assertEqual([t for t in accepted if smsc.seen((key, t)) != 1], [])
            self.assertEqual([t for t in refused if smsc.seen((key, t)) != 0], [])
            self.assertEqual(stats["duplicate_submits"], 0)
            self.assertEqual(set(statuses) - {Status.ESME_ROK}, {Status.ESME_RSYSERR}
                             if refused else set())
        return go()
