"""Concatenated MOs end to end: the simulated SMSC sends a long MO as parts (UDH
or sar_* TLVs), out of order, with copies, over several binds and two routers;
the router routes the whole message by its keyword and gives an SMPP user the
parts as sent, or one message in message_payload (`mo_reassemble`), and a
webhook user one MO with the whole text; an incomplete set is delivered as
the parts received once its connector's mo_parts_timeout has passed."""

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from bench.esme import connect
from bench.sink import WebhookSink
from smpprouter.core.concat import SAR_TLVS
from smpprouter.smpp.segment import split
from smpprouter.smpp.status import Status
from smpprouter.smpp.text import DC_DEFAULT, DC_UCS2, alphabet_of, encode_text

from ..store.support import wait_for
from .harness import PASSWORDS, RouterHarness, run

LONG = ("JOIN the club: this message is longer than one SMS, so the handset sent it "
        "in parts, and the router must put them together again before it routes it "
        "by its keyword, whichever part comes first.")
ALL_OK = [Status.ESME_ROK]


def parts_of(text, dc=DC_DEFAULT, method="udh8", ref=42):
    """(short_message, esm_class, tlvs) of each part, as a handset's SMSC sends them."""
    out = []
    for p in split(encode_text(text, dc), alphabet_of(dc), method, ref):
        if p.sar is None:
            out.append((p.short_message, 0x40, {}))
        else:
            out.append((p.short_message, 0, dict(zip(SAR_TLVS, p.sar))))
    return out


class MOPartsTestCase(TestCase):
    timeout = 60
    users = {"esme1": "", "esme2": "", "esme3": ""}
    connector = "binds = 2"

    def setUp(self):
        self.h = RouterHarness(users=self.users, connector=self.connector)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start(binds=2))

    async def send(self, parts, order, destination="5555", dc=DC_DEFAULT):
        """Send parts[i] for i in order, one after another; their answers."""
        statuses = []
        for i in order:
            body, esm_class, tlvs = parts[i]
            resp = await self.h.smsc.send_mo("15550001111", destination, body, dc,
                                             esm_class=esm_class, tlvs=tlvs)
            statuses.append(resp.command_status)
        return statuses

    async def deliveries(self, client, count):
        return [await client.next_delivery() for _ in range(count)]


class AsSentTests(MOPartsTestCase):
    def test_parts_out_of_order_with_a_copy_reach_the_keywords_user_as_sent(self):
        async def go():
            esme1 = await self.h.bind("receiver", "esme1")
            esme2 = await self.h.bind("receiver", "esme2")
            parts = parts_of(LONG)
            self.assertEqual(len(parts), 2)
            # part 2 alone matches no rule (to 5555 the keyword JOIN is needed)
            statuses = await self.send(parts, [1, 1, 0])
            self.assertEqual(statuses, ALL_OK * 3)
            got = await self.deliveries(esme2, 2)
            self.assertEqual([(d.short_message, d.esm_class & 0x40) for d in got],
                             [(body, 0x40) for body, _, _ in parts])
            # the parts came over both of the connector's binds
            self.assertEqual([sum(session.resp_statuses.values()) > 0
                              for session in self.h.smsc.sessions], [True, True])
            self.assertEqual(self.h.core.counters["mo_sets"], 1)
            self.assertEqual(self.h.core.counters["mo_unrouted"], 0)
            self.assertEqual(esme1.deliveries, [])
            # nothing more comes: the copy was ignored
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{esme2}") == 0)
            self.assertEqual(len(esme2.deliveries), 2)
        return run(go())

    def test_a_plain_mo_costs_no_new_redis_command(self):
        async def go():
            self.h.core.mo.parts.stop()   # the sweep's script is not per MO
            esme1 = await self.h.bind("receiver", "esme1")
            for n in range(2):   # the first loads the queue's scripts (EVAL once)
                before = self.h.redis.command_calls()
                resp = await self.h.smsc.send_mo("15550001111", "12345", b"hello")
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                await esme1.next_delivery()
            after = self.h.redis.command_calls()
            self.assertEqual(after.get("eval", 0), before.get("eval", 0))
            parts = parts_of(LONG)
            self.assertEqual(await self.send(parts, [0, 1], destination="12345"), ALL_OK * 2)
            await self.deliveries(esme1, 2)
            # ...where a part costs its one script (the check can fail)
            self.assertEqual(self.h.redis.command_calls()["eval"] - after.get("eval", 0), 3)
        return run(go())

    def test_sar_parts_are_reassembled_too(self):
        async def go():
            esme2 = await self.h.bind("receiver", "esme2")
            parts = parts_of(LONG, method="sar", ref=300)
            self.assertEqual(await self.send(parts, [1, 0]), ALL_OK * 2)
            got = await self.deliveries(esme2, 2)
            self.assertEqual([(d.short_message, d.tlvs.get("sar_segment_seqnum")) for d in got],
                             [(body, tlvs["sar_segment_seqnum"]) for body, _, tlvs in parts])
        return run(go())


class ExpiryTests(MOPartsTestCase):
    connector = "binds = 2\nmo_parts_timeout = 1"

    def test_a_set_not_complete_in_time_is_delivered_as_the_parts_received(self):
        async def go():
            esme2 = await self.h.bind("receiver", "esme2")
            parts = parts_of(LONG * 2)
            self.assertEqual(len(parts), 3)
            self.assertEqual(await self.send(parts, [0, 2]), ALL_OK * 2)
            got = await self.deliveries(esme2, 2)
            self.assertEqual([d.short_message for d in got], [parts[0][0], parts[2][0]])
            self.assertEqual(self.h.core.counters["mo_sets_expired"], 1)
            # the missing part, arriving now, goes alone: to the user its own text
            # routes to (to 5555 without JOIN: no one, refused as any unrouted MO)
            self.assertEqual(await self.send(parts, [1]), [Status.ESME_RX_P_APPN])
            self.assertEqual(self.h.core.counters["mo_parts_late"], 1)
        return run(go())


class ReassembledTests(MOPartsTestCase):
    users = {"esme1": "mo_reassemble = true", "esme2": "mo_reassemble = true", "esme3": ""}

    def test_a_user_asking_for_it_gets_one_message_in_message_payload(self):
        async def go():
            esme2 = await self.h.bind("receiver", "esme2")
            text = LONG + " Ünïcödé ✓"
            parts = parts_of(text, DC_UCS2)
            self.assertEqual(len(parts), 4)
            self.assertEqual(await self.send(parts, [3, 1, 0, 2, 1], dc=DC_UCS2), ALL_OK * 5)
            [got] = await self.deliveries(esme2, 1)
            self.assertEqual((got.short_message, got.esm_class & 0x40, got.data_coding),
                             (b"", 0, DC_UCS2))
            self.assertEqual(got.tlvs["message_payload"].decode("utf-16-be"), text)
            self.assertEqual(got.source_addr, "15550001111")
        return run(go())


class WebhookTests(TestCase):
    timeout = 60

    def setUp(self):
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.h = RouterHarness(http="", users={
            "esme1": 'mo_url = "http://127.0.0.1:%d/mo"' % port, "esme2": ""})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_a_webhook_gets_one_mo_with_the_whole_text(self):
        async def go():
            text = "Grüße aus Köln ✓ " * 10
            parts = parts_of(text, DC_UCS2, method="udh16", ref=0x1234)
            self.assertEqual(len(parts), 3)
            for i in (2, 0, 1, 0):
                body, esm_class, _ = parts[i]
                resp = await self.h.smsc.send_mo("15550001111", "12345", body, DC_UCS2,
                                                 esm_class=esm_class)
                self.assertEqual(resp.command_status, Status.ESME_ROK)
            await self.sink.wait(lambda s: len(s.requests) >= 1)
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{hook:esme1}") == 0)
            [got] = self.sink.requests
            body = got.json()
            self.assertEqual((body["oa"], body["da"], body["message"]),
                             ("15550001111", "12345", text))
        return run(go())


class TwoRoutersTests(MOPartsTestCase):
    connector = ""

    def test_parts_arriving_at_two_routers_are_one_message(self):
        async def go():
            second = await self.h.second_router(self)
            esme2 = await self.h.bind("receiver", "esme2")
            parts = parts_of(LONG * 3)
            self.assertEqual(len(parts), 4)
            answers = await defer.gatherResults([
                self.h.smsc.send_mo("15550001111", "5555", body, esm_class=esm_class)
                for body, esm_class, _ in reversed(parts)])
            self.assertEqual([a.command_status for a in answers], ALL_OK * 4)
            got = await self.deliveries(esme2, 4)
            self.assertEqual([d.short_message for d in got], [body for body, _, _ in parts])
            cores = (self.h.core, second.core)
            # the SMSC spread the parts over both routers; one of them delivered the set
            self.assertEqual(sorted(c.counters["mo_parts"] > 0 for c in cores), [True, True])
            self.assertEqual(sum(c.counters["mo_sets"] for c in cores), 1)
        return run(go())

    def test_a_part_outlives_the_router_that_stored_it(self):
        async def go():
            parts = parts_of(LONG)
            self.assertEqual(await self.send(parts, [1]), ALL_OK)   # stored by the first
            second = await self.h.second_router(self)
            await self.h.service.stopService()   # the first router is gone
            esme2 = await connect("127.0.0.1", second.ports["smpp"].getHost().port,
                                  "receiver", "esme2", PASSWORDS["esme2"])
            self.addCleanup(esme2.disconnect)
            self.assertEqual(await self.send(parts, [0]), ALL_OK)
            got = await self.deliveries(esme2, 2)
            self.assertEqual([d.short_message for d in got], [body for body, _, _ in parts])
            self.assertEqual(second.core.counters["mo_sets"], 1)
        return run(go())

    def setUp(self):
        self.h = RouterHarness(users=self.users)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())
