"""Router-made receipts for what the upstream never reports (core/timeouts.py),
end to end: an ESME (or a webhook), the router, the simulated SMSC, real Redis.

The simulator sends no receipt for a message asking for failures only
(registered_delivery 2) that it delivered, so such a message waits for ever
upstream: the router's receipt_timeout (1 s here) gives the user its final
answer, UNKNOWN with seed 000's err 099."""

import io
import json

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from bench.sink import WebhookSink
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness, run
from .test_multipart import LONG, TEXT, payload
from .test_rest import SEND, message, user

MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=2)
UNKNOWN = MessageState.UNKNOWN


class TimeoutTestCase(TestCase):
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(connector="receipt_timeout = 1")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def waiting(self):
        """The upstream ids waiting for their receipt (due:{smsc})."""
        return self.h.redis.command("ZRANGE", "due:{smsc}", 0, -1)

    async def no_more(self, client, user="esme1"):
        await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{%s}" % user) == 0)
        self.assertEqual(len(client._unread), 0, "a second receipt")


class RouterMadeReceiptTests(TimeoutTestCase):
    def test_no_receipt_within_the_timeout_gives_unknown_099_once(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            [upstream_id] = self.waiting()
            dlr = await client.next_delivery()
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err),
                             (resp.message_id, "UNKNOWN", "099"))
            self.assertEqual(dlr.tlvs["message_state"], UNKNOWN)
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            self.assertEqual((dlr.source_addr, dlr.destination_addr), ("15551234567", "MyBrand"))
            answer = await client.query(resp.message_id)
            self.assertEqual((answer.message_state, answer.error_code), (UNKNOWN, 99))
            self.assertEqual(self.waiting(), [])
            self.assertEqual(self.h.core.counters["receipts_timed_out"], 1)
            # the upstream's receipt, late: answered, dropped, counted; no second one
            late = await self.h.smsc.send_mo(
                "15551234567", "MyBrand", b"id:%s stat:UNDELIV err:001" % upstream_id.encode(),
                esm_class=0x04, tlvs={"receipted_message_id": upstream_id,
                                      "message_state": int(MessageState.UNDELIVERABLE)})
            self.assertEqual(late.command_status, Status.ESME_ROK)
            self.assertEqual(self.h.core.counters["receipts_late"], 1)
            await self.no_more(client)
        return run(go())

    def test_a_receipt_in_time_ends_the_wait(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(MESSAGE, registered_delivery=1))
            dlr = await client.next_delivery()
            self.assertEqual(parse_receipt(dlr.short_message).stat, "DELIVRD")
            # nothing left for a sweep: no receipt of the router's can follow
            await wait_for(lambda: self.waiting() == [])
            self.assertEqual(self.h.redis.command("EXISTS", "due:{smsc}"), 0)
            answer = await client.query(resp.message_id)
            self.assertEqual(answer.message_state, MessageState.DELIVERED)
            self.assertEqual(self.h.core.counters["receipts_timed_out"], 0)
        return run(go())

    def test_a_message_without_a_receipt_asked_for_is_not_waited_for(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(MESSAGE, registered_delivery=0))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual(self.waiting(), [])
        return run(go())

    def test_a_split_message_gets_one_unknown_099_receipt(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(LONG, registered_delivery=2,
                                              tlvs={"message_payload": payload(TEXT)}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual(len(self.waiting()), 3)
            dlr = await client.next_delivery()
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err, receipt.sub),
                             (resp.message_id, "UNKNOWN", "099", "003"))
            self.assertEqual(dlr.tlvs["message_state"], UNKNOWN)
            answer = await client.query(resp.message_id)
            self.assertEqual((answer.message_state, answer.error_code), (UNKNOWN, 99))
            await wait_for(lambda: self.h.core.counters["receipts_timed_out"] == 3)
            self.assertEqual(self.waiting(), [])
            await self.no_more(client)
        return run(go())

    def test_the_wait_survives_a_restart(self):
        async def go():
            client = await self.h.bind("transmitter")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(len(self.waiting()), 1)
            await self.h.service.stopService()     # the process is gone; Redis keeps it
            await self.h.start()
            rx = await self.h.bind("receiver")
            dlr = await rx.next_delivery()
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err),
                             (resp.message_id, "UNKNOWN", "099"))
        return run(go())


class WebhookTimeoutTests(TimeoutTestCase):
    def setUp(self):
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.h = RouterHarness(connector="receipt_timeout = 1", http="", users={
            "esme1": 'dlr_url = "http://127.0.0.1:%d/dlr"' % port, "esme2": ""})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_an_http_user_gets_it_on_its_webhook(self):
        async def go():
            client = await self.h.bind("transmitter")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            await self.sink.wait(lambda s: len(s.requests) >= 1)
            [got] = self.sink.requests
            info = got.json()["deliveryInfoNotification"]
            self.assertEqual(info["transid"], resp.message_id)
            self.assertEqual(info["deliveryInfo"]["deliveryStatus"], "Unknown")
            self.assertEqual(info["deliveryInfo"]["Description"], "Unknown (err 099)")
            self.assertEqual(self.h.core.counters["receipts_timed_out"], 1)
        return run(go())


class RestTimeoutTests(TestCase):
    """A REST message (store and forward, the drainer's mapping) whose upstream
    only ever says ENROUTE: the user's webhook gets the router's final answer."""
    timeout = 30

    def setUp(self):
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.h = RouterHarness(connector="receipt_timeout = 1", http="",
                               smsc=dict(receipt_stat="ENROUTE"), users={
                                   "esme1": user("esme1", 'dlr_url = "http://127.0.0.1:%d/dlr"'
                                                 % port), "esme2": ""})
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(lambda: run(self.h.stop()))
        self.addCleanup(self.pool.closeCachedConnections)
        return run(self.h.start())

    def test_only_enroute_upstream_then_unknown_099_on_the_webhook(self):
        async def go():
            headers = Headers({"key": ["key-esme1"], "content-type": ["application/json"]})
            body = FileBodyProducer(io.BytesIO(json.dumps(message(["15551234567"])).encode()))
            response = await Agent(reactor, pool=self.pool).request(
                b"POST", (self.h.http_url + SEND).encode(), headers, body)
            answer = json.loads(await readBody(response))
            self.assertEqual(answer["response"][0]["code"], "1001")
            transid = answer["response"][0]["transid"]
            await self.sink.wait(lambda s: len(s.requests) >= 1)
            info = self.sink.requests[0].json()["deliveryInfoNotification"]
            self.assertEqual((info["transid"], info["deliveryInfo"]["deliveryStatus"]),
                             (transid, "Unknown"))
            self.assertGreaterEqual(self.h.core.counters["receipts"], 1)   # the ENROUTE one
            self.assertEqual(self.h.core.counters["receipts_timed_out"], 1)
        return run(go())
