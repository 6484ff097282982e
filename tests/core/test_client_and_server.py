"""An ESME, the router and an SMSC wired together with no sockets and no Redis,
in the style of aioquic's client_and_server: the real ESME-facing protocol, the
real core and the real connector protocol, the test's ESME client and the SMSC
simulator, joined by in-memory transports (twisted.test.iosim) on one
task.Clock. A whole submit -> receipt round trip runs in milliseconds and
every timer is the test's to move.
"""

import os
import tempfile

from twisted.internet import task
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from bench.esme import ESMEClient
from bench.smsc import SimulatedSMSC
from smpprouter.config import load_config
from smpprouter.core.core import Core
from smpprouter.core.spooling import Spooling
from smpprouter.core.delivery import Deliveries
from smpprouter.ids import MessageIds
from smpprouter.passwords import PasswordCache
from smpprouter.protocol.esme import ESMEServerFactory
from smpprouter.protocol.smsc import Connector, SMSCClientProtocol
from smpprouter.service import load_routes
from smpprouter.smpp import adapt, codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.session import Mode, Timers
from smpprouter.smpp.status import Status
from smpprouter.store.spool import Spool
from tests.integration.harness import PASSWORDS, password_hash, write_config

from .memory_store import MemoryStore

MESSAGE = dict(source_addr="MyBrand", destination_addr="15551234567",
               short_message=b"hello", registered_delivery=1)


class Rig(SynchronousTestCase):
    """The wiring; the test classes below add what they check."""
    smsc_args = {}
    users = {"esme1": "", "esme2": ""}
    extra = ""

    def setUp(self):
        self.clock = task.Clock()
        directory = tempfile.mkdtemp(prefix="smpprouter-cs-")
        config_path, _ = write_config(directory, "redis://127.0.0.1:1/0", 1,
                                      users=self.users, extra=self.extra)
        os.makedirs(os.path.join(directory, "var"), exist_ok=True)
        config = load_config(config_path)
        self.store = MemoryStore(self.clock)
        cache = PasswordCache()
        for user in ("esme1", "esme2"):   # scrypt once here, not in a thread
            cache.verify(PASSWORDS[user], password_hash(user))
        deliveries = Deliveries(self.store, self.clock, "test")
        self.core = Core(config, load_routes(config), self.store, MessageIds(1), deliveries,
                         self.clock, cache, instance="test")
        self.connector = Connector(config.connectors["smsc"], self.core, self.clock)
        self.core.add_connector(self.connector)
        self.core.start()
        self.addCleanup(self.core.stop)
        self.smsc = SimulatedSMSC(reactor=self.clock, **self.smsc_args)
        upstream = SMSCClientProtocol(self.connector, Mode.TRX, self.clock,
                                      self.connector.timers, 10)
        self.pumps = [self.join(self.smsc.buildProtocol(None), upstream)]
        self.settle()
        self.assertTrue(self.connector.up)
        smpp = config.smpp
        self.factory = ESMEServerFactory(self.core, self.clock, Timers(
            smpp.session_init_timeout, smpp.enquire_link_interval, smpp.inactivity_timeout,
            smpp.response_timeout), smpp.window, smpp.max_pdu_length)

    def join(self, server, client):
        return iosim.connect(server, iosim.makeFakeServer(server),
                             client, iosim.makeFakeClient(client), greet=False)

    def settle(self, rounds=200):
        """Move bytes both ways and run what is due now, until nothing moves."""
        for _ in range(rounds):
            moved = [pump.pump() for pump in self.pumps]
            now = self.clock.seconds()
            due = [c for c in self.clock.getDelayedCalls() if c.getTime() <= now]
            self.clock.advance(0)
            if not any(moved) and not due:
                return
        self.fail("still busy after %d rounds" % rounds)

    def esme(self, user="esme1", mode="transceiver"):
        client = ESMEClient()
        self.pumps.append(self.join(self.factory.buildProtocol(None), client))
        bound = client.bind(mode, user, PASSWORDS[user])
        self.settle()
        self.assertEqual(self.successResultOf(bound).command_status, Status.ESME_ROK)
        return client


class ClientAndServer(Rig):
    def test_submit_and_its_receipt_with_our_id(self):
        client = self.esme()
        resp = client.submit(**MESSAGE)
        self.settle()
        resp = self.successResultOf(resp)
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        self.assertEqual([s.short_message for s in self.smsc.submits], [b"hello"])
        [receipt] = client.deliveries
        self.assertEqual(receipt.tlvs["receipted_message_id"], resp.message_id)
        self.assertEqual(parse_receipt(receipt.short_message).id, resp.message_id)
        self.assertEqual(self.store.queues["esme1"], {})   # acknowledged, gone
        query = client.query(resp.message_id)
        self.settle()
        self.assertEqual(self.successResultOf(query).message_state, MessageState.DELIVERED)

    def test_a_receipt_waits_for_a_user_that_is_not_bound(self):
        tx = self.esme(mode="transmitter")
        resp = tx.submit(**MESSAGE)
        self.settle()
        message_id = self.successResultOf(resp).message_id
        self.assertEqual(len(self.store.queues["esme1"]), 1)
        rx = self.esme(mode="receiver")
        self.settle()
        self.assertEqual([d.tlvs["receipted_message_id"] for d in rx.deliveries], [message_id])

    def test_an_mo_reaches_the_user_its_rule_names(self):
        client = self.esme()
        self.smsc.send_mo("15550001111", "12345", b"hi there")
        self.settle()
        [mo] = client.deliveries
        self.assertEqual((mo.source_addr, mo.destination_addr, mo.short_message),
                         ("15550001111", "12345", b"hi there"))

    def test_an_upstream_that_stops_answering_times_out_into_a_precise_status(self):
        client = self.esme()
        self.smsc.hold_responses = True
        resp = client.submit(**MESSAGE)
        self.settle()
        self.assertNoResult(resp)
        self.clock.advance(self.connector.config.response_timeout)
        self.settle()
        self.assertEqual(self.successResultOf(resp).command_status, Status.ESME_RSYSERR)

    def test_while_the_store_is_down_nothing_needing_it_is_sent(self):
        client = self.esme()
        self.store.available = False
        refused = client.submit(**MESSAGE)
        unrecorded = client.submit(**dict(MESSAGE, registered_delivery=0))
        self.settle()
        self.assertEqual(self.successResultOf(refused).command_status, Status.ESME_RTHROTTLED)
        # A message without a receipt needs no record: it goes.
        self.assertEqual(self.successResultOf(unrecorded).command_status, Status.ESME_ROK)
        self.assertEqual(len(self.smsc.submits), 1)
        self.assertEqual(self.core.counters["refused_store_down"], 1)
        self.store.available = True
        again = client.submit(**MESSAGE)
        self.settle()
        self.assertEqual(self.successResultOf(again).command_status, Status.ESME_ROK)


class SubmitLatency(Rig):
    """The submit latency histogram (MTPath.latency) observes every submission
    once, whichever way it is answered (core/mt.py _Attempt)."""

    def observed(self):
        return sum(self.core.mt.latency.counts)

    def test_each_answer_is_observed_once(self):
        client = self.esme()
        answers = [client.submit(**MESSAGE),                                  # mapped
                   client.submit(**dict(MESSAGE, registered_delivery=0)),     # no receipt
                   client.submit(**dict(MESSAGE, destination_addr="9991234"))]  # no route
        self.clock.advance(0.002)
        self.settle()
        self.assertEqual([self.successResultOf(d).command_status for d in answers],
                         [Status.ESME_ROK, Status.ESME_ROK, Status.ESME_RINVDSTADR])
        self.assertEqual(self.observed(), 3)
        self.assertEqual(self.core.counters["submitted"], 3)

    def test_a_store_down_refusal_is_observed(self):
        client = self.esme()
        self.store.available = False
        refused = client.submit(**MESSAGE)
        self.settle()
        self.assertEqual(self.successResultOf(refused).command_status, Status.ESME_RTHROTTLED)
        self.assertEqual(self.observed(), 1)


class ThrottledUpstreamLatency(Rig):
    """An upstream answer the core may retry elsewhere (no other route here):
    still one observation per submission."""
    smsc_args = dict(throttle_ratio=1.0)

    def test_observed_once(self):
        client = self.esme()
        answers = [client.submit(**MESSAGE) for _ in range(2)]
        self.settle()
        self.assertEqual([self.successResultOf(d).command_status for d in answers],
                         [Status.ESME_RTHROTTLED] * 2)
        self.assertEqual(sum(self.core.mt.latency.counts), 2)


class SpoolTests(Rig):
    """Receipts while Redis is away: kept on local disk, in Redis when it is back."""
    smsc_args = dict(receipt_delay=1.0)

    def setUp(self):
        super().setUp()
        path = os.path.join(tempfile.mkdtemp(prefix="smpprouter-spool-"), "spool.bin")
        self.spool = Spool(path, 100000, self.clock)
        self.core.use_spool(Spooling(self.spool, self.store, self.clock, self.core.counters))
        self.core.spooling.start()
        self.addCleanup(self.core.spooling.stop)

    def test_a_receipt_during_an_outage_is_acknowledged_and_delivered_later(self):
        client = self.esme()
        resp = client.submit(**MESSAGE)
        self.settle()
        message_id = self.successResultOf(resp).message_id
        self.store.available = False            # Redis goes away; the receipt comes
        self.clock.advance(1.0)
        self.settle()
        self.assertEqual(self.smsc.deliver_resp_statuses[Status.ESME_ROK], 1)
        self.assertEqual(client.deliveries, [])
        self.assertEqual(self.core.counters["spooled"], 1)
        self.store.available = True             # back: replayed within half a second
        self.clock.advance(0.5)
        self.settle()
        self.assertEqual([d.tlvs["receipted_message_id"] for d in client.deliveries],
                         [message_id])
        self.assertEqual(self.spool.size, 0)
        self.assertEqual(self.core.counters["unspooled"], 1)

    def test_redis_lost_between_lookup_and_enqueue_keeps_the_rewritten_receipt(self):
        client = self.esme()
        resp = client.submit(**MESSAGE)
        self.settle()
        message_id = self.successResultOf(resp).message_id
        self.store.fail_enqueue = True
        self.clock.advance(1.0)
        self.settle()
        self.assertEqual(self.smsc.deliver_resp_statuses[Status.ESME_ROK], 1)
        self.store.fail_enqueue = False
        self.clock.advance(0.5)
        self.settle()
        [receipt] = client.deliveries
        self.assertEqual(receipt.tlvs["receipted_message_id"], message_id)
        self.assertEqual(parse_receipt(receipt.short_message).id, message_id)


class RelayedAsReceived(Rig):
    """A submit_sm the upstream may take as it is goes out as the ESME's octets
    (sequence number aside); any other is encoded anew (smpp/adapt.py relay_form)."""

    def setUp(self):
        super().setUp()
        self.received = []
        smsc = self.pumps[0].server
        feed = smsc.dataReceived

        def record(data):
            self.received.append(data)
            feed(data)
        smsc.dataReceived = record
        self.encoded = []   # the submissions encoded anew (not relayed)
        submit_pdu = adapt.submit_pdu

        def counting(s, *args):
            self.encoded.append(s)
            return submit_pdu(s, *args)
        self.patch(adapt, "submit_pdu", counting)

    def upstream_submits(self):
        data = b"".join(self.received)
        frames, pos = [], 0
        while pos < len(data):
            pdu, used = codec.decode(data, pos)
            if pdu.command_id == CommandId.submit_sm:
                frames.append(data[pos:pos + used])
            pos += used
        return frames

    def test_the_esme_octets_reach_the_upstream(self):
        client = self.esme()
        sent = P.SubmitSm(**MESSAGE)
        resp = client.submit(**MESSAGE)
        self.settle()
        self.assertEqual(self.successResultOf(resp).command_status, Status.ESME_ROK)
        [upstream] = self.upstream_submits()
        ours = codec.encode(sent)
        self.assertEqual(upstream[:12] + upstream[16:], ours[:12] + ours[16:])
        self.assertEqual(self.encoded, [])
        self.assertEqual(len(client.deliveries), 1)

    def test_a_short_message_payload_goes_in_short_message(self):
        client = self.esme()
        fields = dict(MESSAGE, short_message=b"", tlvs={"message_payload": b"hello"})
        resp = client.submit(**fields)
        self.settle()
        self.assertEqual(self.successResultOf(resp).command_status, Status.ESME_ROK)
        [upstream] = self.upstream_submits()
        pdu, _ = codec.decode(upstream)
        self.assertEqual((pdu.short_message, pdu.tlvs), (b"hello", {}))
        self.assertEqual(len(self.encoded), 1)
