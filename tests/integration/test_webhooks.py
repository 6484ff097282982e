"""Webhooks end to end: the router, real Redis, the simulated SMSC and a local
receiver (bench/sink.py). Receipts of SMPP submits from users with a dlr_url,
and MOs to mo_url, arrive signed, each once, in order after an outage."""

import time

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from bench.sink import WebhookSink
from smpprouter.http import signing
from smpprouter.smpp.status import Status

from ..http.helpers import TableResolver
from ..store.support import wait_for
from .harness import RouterHarness, run

MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, registered_delivery=1)


def entry_order(event):
    ms, seq = event.split(":", 1)[1].split("-")
    return int(ms), int(seq)


class WebhookTestCase(TestCase):
    timeout = 60
    http = ""

    def setUp(self):
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.h = RouterHarness(http=self.http, users={
            "esme1": 'dlr_url = "http://127.0.0.1:%d/dlr"\nwebhook_secret = "s3cret"\n'
                     'mo_url = "http://127.0.0.1:%d/mo"' % (port, port),
            "esme2": 'dlr_url = "http://evil.test:%d/dlr"' % port})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    @property
    def sender(self):
        return self.h.service.webhooks

    async def submit(self, count, user="esme1"):
        client = await self.h.bind("transmitter", user)
        resps = await defer.gatherResults([
            client.submit(**dict(MESSAGE, short_message=b"m%d" % i)) for i in range(count)])
        self.assertEqual({r.command_status for r in resps}, {Status.ESME_ROK})
        return [r.message_id for r in resps]

    def delivered(self):
        """Event ids answered 2xx, in arrival order."""
        return [r.event for r in self.sink.requests if r.status == 200]


class ReceiptTests(WebhookTestCase):
    def test_receipts_arrive_signed_with_stable_distinct_event_ids(self):
        async def go():
            ids = await self.submit(5)
            await self.sink.wait(lambda s: len(s.requests) >= 5)
            transids = set()
            for got in self.sink.requests:
                self.assertEqual(got.path, "/dlr")
                ts = got.headers[signing.TIMESTAMP.lower()].decode()
                self.assertTrue(signing.verify(
                    b"s3cret", ts, got.body, got.headers[signing.SIGNATURE.lower()].decode(),
                    now=time.time()))
                info = got.json()["deliveryInfoNotification"]
                self.assertEqual(info["deliveryInfo"]["deliveryStatus"], "Delivered")
                self.assertEqual(info["deliveryInfo"]["code"], "7500")
                self.assertEqual(info["deliveryInfo"]["destination"], "15551234567")
                transids.add(info["transid"])
                self.assertTrue(got.event.startswith("esme1:"))
            self.assertEqual(transids, set(ids))
            self.assertEqual(len(set(self.sink.events())), 5)
            await wait_for(lambda: self.sender.counters["delivered"] == 5)
            self.assertEqual(self.h.redis.command("XLEN", "dlv:{hook:esme1}"), 0)
        return run(go())

    def test_a_400_is_permanent_and_not_retried(self):
        async def go():
            self.sink.status = 400
            await self.submit(1)
            await wait_for(lambda: self.sender.counters["permanent"] == 1, 10)
            self.sink.status = 200
            await self.submit(1)
            await self.sink.wait(lambda s: s.answered[200] == 1)
            self.assertEqual(len(self.sink.requests), 2)
            self.assertEqual(len(set(self.sink.events())), 2)
            self.assertEqual(self.sender.counters["retried"], 0)
        return run(go())

    def test_a_host_resolving_to_a_refused_address_is_not_called(self):
        async def go():
            resolver = TableResolver({"evil.test": ["169.254.169.254"]})
            self.sender.client.endpoints.resolver = resolver
            await self.submit(1, "esme2")
            await wait_for(lambda: self.sender.counters["refused"] == 1, 10)
            self.assertEqual(resolver.asked, ["evil.test"])
            self.assertEqual(self.sink.requests, [])
            # Ended, not retried: removed from the queue (the ack follows the count).
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{hook:esme2}") == 0, 10)
            self.assertEqual(self.sink.requests, [])
        return run(go())


class MOTests(WebhookTestCase):
    def test_an_mo_reaches_mo_url(self):
        async def go():
            resp = await self.h.smsc.send_mo("15550001111", "12345", b"hello")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            await self.sink.wait(lambda s: len(s.requests) >= 1)
            got = self.sink.requests[0]
            self.assertEqual(got.path, "/mo")
            body = got.json()
            self.assertEqual({k: body[k] for k in ("userId", "channel", "oa", "da", "message")},
                             {"userId": "esme1", "channel": "SMS", "oa": "15550001111",
                              "da": "12345", "message": "hello"})
            self.assertEqual(body["tid"], got.event)
        return run(go())


class OutageTests(WebhookTestCase):
    http = "webhook_concurrency = 1"   # strict order: one request in flight per receiver

    def test_a_receiver_down_then_failing_gets_everything_once_in_order(self):
        async def go():
            self.sender.random = lambda: 0.1   # the same backoff, a tenth of the waits
            await self.sink.refuse()
            await self.submit(20)
            await wait_for(lambda: self.sender.counters["retried"] >= 3, 20)
            self.assertEqual(self.sink.requests, [])
            self.sink.status = 503
            self.sink.listen()                 # back on the same port, failing
            await self.sink.wait(lambda s: s.answered[503] >= 2)
            self.sink.status = 200
            await self.sink.wait(lambda s: s.answered[200] >= 20)
            delivered = self.delivered()
            self.assertEqual(len(delivered), 20)
            self.assertEqual(len(set(delivered)), 20)                   # each once
            self.assertEqual(delivered, sorted(delivered, key=entry_order))   # in order
            # every retry of an entry carried its event id: the 503s were of the first
            failed = {r.event for r in self.sink.requests if r.status == 503}
            self.assertEqual(failed, {min(delivered, key=entry_order)})
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{hook:esme1}") == 0)
        return run(go())


class TwoRoutersTests(WebhookTestCase):
    def test_two_routers_on_one_redis_deliver_each_webhook_once(self):
        async def go():
            second = await self.h.second_router(self)
            ids = await self.submit(30)
            await self.sink.wait(lambda s: len(s.requests) >= 30)
            # let a duplicate arrive before counting: both are idle once Redis is empty
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{hook:esme1}") == 0)
            await self.h.bind("transmitter")
            self.assertEqual(len(self.sink.requests), 30)
            self.assertEqual(len(set(self.sink.events())), 30)
            self.assertEqual({r.json()["deliveryInfoNotification"]["transid"]
                              for r in self.sink.requests}, set(ids))
            counts = sorted([self.sender.counters["delivered"],
                             second.webhooks.counters["delivered"]])
            self.assertEqual(counts, [0, 30])   # one process holds esme1's lease
        return run(go())
