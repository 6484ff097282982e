"""The webhook sender on a clock, an in-memory store and a scripted HTTP client:
what leaves the queue when, in which order, retried how, by which process."""

import ipaddress
import json
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import TestCase

from smpprouter.core.codec import decode_entry, encode_click, encode_entry
from smpprouter.core.messages import Click, Inbound, Receipt
from smpprouter.http import signing
from smpprouter.http.meta import encode_meta
from smpprouter.http.webclient import AddressRefused
from smpprouter.http.webhooks import WebhookSender
from tests.core.memory_store import MemoryStore

DLR = "http://a.example/dlr"
OTHER = "http://b.example/n"


class ScriptedClient:
    """post() answers what the test says, when it says."""

    def __init__(self):
        self.calls = []     # (url, headers, body, Deferred)
        self.closed = False

    def post(self, url, headers, body):
        d = defer.Deferred()
        self.calls.append((url, headers, body, d))
        return d

    def open(self):
        return [c for c in self.calls if not c[3].called]

    def answer(self, code, index=0, after=None):
        self.open()[index][3].callback((code, after))

    def fail(self, error, index=0):
        self.open()[index][3].errback(error)

    def close(self):
        self.closed = True


def user(**kw):
    return SimpleNamespace(**dict(dict(dlr_url=DLR, mo_url="", click_url="",
                                       webhook_secret="s3cret", webhook_retention=0), **kw))


def config(users, concurrency=2, allow=(), retention=3600):
    return SimpleNamespace(users=users, redis=SimpleNamespace(claim_idle=60),
                           http=SimpleNamespace(webhook_concurrency=concurrency,
                                                webhook_allow=allow,
                                                webhook_retention=retention))


def receipt(n, url=None):
    reference = encode_meta({"notifyurl": url, "correlationid": "c%d" % n}) if url else ""
    return encode_entry(Receipt("id%d" % n, 2, b"id:id%d stat:DELIVRD err:000" % n,
                                "1555000%04d" % n, "Brand", reference=reference))


CLICK = encode_click(Click("id1", "5", "https://e.com/", "15551234567", 1, 0.0))


class SenderTestCase(TestCase):
    users = {"esme1": user()}
    concurrency = 2

    def setUp(self):
        self.clock = task.Clock()
        self.store = MemoryStore(self.clock)
        self.client = ScriptedClient()
        self.sender = self.make_sender("p1", self.client)

    def make_sender(self, consumer, client, **kw):
        sender = WebhookSender(self.store, config(self.users, self.concurrency, **kw),
                               self.clock, consumer, client, random=lambda: 1.0)
        sender.start()
        self.addCleanup(self.stop, sender)
        return sender

    def stop(self, sender):
        d = sender.stop()
        self.turns()   # the store answers on the clock
        return d

    def queue(self, *payloads, user="esme1"):
        for payload in payloads:
            self.store.enqueue("hook:" + user, payload)
        self.turns()

    def turns(self, n=6):
        for _ in range(n):
            self.clock.advance(0)

    def posted(self, client=None):
        return [json.loads(c[2])["deliveryInfoNotification"]["transid"]
                for c in (client or self.client).calls]

    def left(self, user="esme1"):
        return len(self.store.queues["hook:" + user])


class DeliveryTests(SenderTestCase):
    def test_a_receipt_is_posted_signed_and_acked_on_2xx_only(self):
        self.queue(receipt(1))
        url, headers, body, d = self.client.calls[0]
        self.assertEqual(url, DLR)
        event = headers[signing.EVENT_ID][0].decode()
        self.assertEqual(event, "esme1:1-0")
        ts = headers[signing.TIMESTAMP][0].decode()
        self.assertTrue(signing.verify(b"s3cret", ts, body,
                                       headers[signing.SIGNATURE][0].decode(), now=0))
        self.assertEqual(self.left(), 1)   # not acked before its answer
        self.client.answer(204)
        self.turns()
        self.assertEqual(self.left(), 0)
        self.assertEqual(self.sender.counters["delivered"], 1)

    def test_a_mo_goes_to_mo_url(self):
        self.users = {"esme1": user(mo_url="http://a.example/mo")}
        self.setUp()
        self.queue(encode_entry(Inbound("smsc", "15550001111", "12345", b"hi")))
        url, _, body, _ = self.client.calls[0]
        self.assertEqual(url, "http://a.example/mo")
        self.assertEqual(json.loads(body)["message"], "hi")
        self.assertEqual(json.loads(body)["tid"], "esme1:1-0")

    def test_a_permanent_refusal_is_counted_acked_and_not_retried(self):
        self.queue(receipt(1), receipt(2))
        self.client.answer(400)
        self.client.answer(200)
        self.turns()
        self.clock.advance(1000)
        self.assertEqual(len(self.client.calls), 2)
        self.assertEqual(self.sender.counters["permanent"], 1)
        self.assertEqual(self.left(), 0)

    def test_at_most_concurrency_in_flight_in_queue_order(self):
        self.queue(*[receipt(n) for n in range(5)])
        self.assertEqual(self.posted(), ["id0", "id1"])
        self.client.answer(200, 1)
        self.turns()
        self.assertEqual(self.posted(), ["id0", "id1", "id2"])


class RetryTests(SenderTestCase):
    def test_a_failing_receiver_gets_the_backlog_in_order_once_back(self):
        self.queue(*[receipt(n) for n in range(4)])
        self.client.answer(503)
        self.client.fail(ConnectionError("refused"))
        self.turns()
        self.assertEqual(self.client.open(), [])   # held back: nothing sent while failing
        # the backoff (random() = 1: its top, 1 s, then 2 s): the oldest alone
        self.clock.advance(1.0)
        self.assertEqual(self.posted(), ["id0", "id1", "id0"])
        self.client.answer(503, after=b"5")   # Retry-After beyond the backoff is kept
        self.clock.advance(4.9)
        self.assertEqual(len(self.client.open()), 0)
        self.clock.advance(0.1)
        self.assertEqual(len(self.client.open()), 1)
        self.client.answer(200)
        self.turns()
        self.assertEqual(self.posted()[-3:], ["id0", "id1", "id2"])   # open again
        for _ in range(3):
            self.client.answer(200)
            self.turns()
        self.assertEqual(self.posted()[3:], ["id0", "id1", "id2", "id3"])
        self.assertEqual(self.left(), 0)
        self.assertEqual(self.sender.counters["retried"], 3)

    def test_a_failing_receiver_holds_back_only_its_own(self):
        self.queue(receipt(1), receipt(2, OTHER), receipt(3), receipt(4, OTHER))
        for call in self.client.open():
            if call[0] == DLR:
                call[3].callback((503, None))
        self.turns()
        others = [c for c in self.client.open() if c[0] == OTHER]
        self.assertEqual(len(others), 2)
        for call in others:
            call[3].callback((200, None))
        self.turns()
        self.assertEqual(self.left(), 2)   # the two for the failing one wait in Redis

    def test_given_up_after_the_users_retention(self):
        self.users = {"esme1": user(webhook_retention=10)}
        self.setUp()
        self.queue(receipt(1))
        self.client.answer(500)
        self.clock.advance(1.0)            # retried within its retention
        self.assertEqual(len(self.client.open()), 1)
        self.clock.advance(10.0)
        self.client.answer(500)            # failed again, 11 s after it was queued
        self.clock.advance(300.0)
        self.assertEqual(self.client.open(), [])
        self.assertEqual(self.sender.counters["expired"], 1)
        self.assertEqual(self.left(), 0)

    def test_timeouts_and_dns_failures_are_retried_a_refused_address_is_not(self):
        self.queue(receipt(1), receipt(2))
        self.client.fail(defer.TimeoutError())
        self.client.fail(AddressRefused("resolves to 10.0.0.1"))
        self.turns()
        self.assertEqual(self.sender.counters["refused"], 1)
        self.clock.advance(1.0)
        self.assertEqual(len(self.client.open()), 1)


class WhereToTests(SenderTestCase):
    def test_a_receipt_without_a_url_moves_to_the_smpp_queue(self):
        self.users = {"esme1": user(dlr_url="")}
        self.setUp()
        self.queue(receipt(1))
        self.assertEqual(self.client.calls, [])
        self.assertEqual(self.left(), 0)
        [payload] = self.store.queues["esme1"].values()
        self.assertEqual(decode_entry(payload).message_id, "id1")
        self.assertEqual(self.sender.counters["moved"], 1)

    def test_a_click_goes_to_click_url(self):
        self.users = {"esme1": user(click_url="http://a.example/click")}
        self.setUp()
        self.queue(CLICK)
        url, _, body, _ = self.client.calls[0]
        self.assertEqual(url, "http://a.example/click")
        self.assertEqual(json.loads(body)["clickNotification"]["transid"], "id1")

    def test_a_click_without_click_url_is_dropped_not_moved(self):
        self.queue(CLICK)
        self.assertEqual(self.client.calls, [])
        self.assertEqual(self.left(), 0)
        self.assertNotIn("esme1", self.store.queues)   # nothing for the SMPP receivers
        self.assertEqual(self.sender.counters["refused"], 1)

    def test_a_notifyurl_inside_the_network_is_refused_unless_allowed(self):
        self.queue(receipt(1, "http://10.1.2.3/x"))
        self.assertEqual(self.client.calls, [])
        self.assertEqual(self.sender.counters["refused"], 1)
        self.assertEqual(self.left(), 0)
        sender = self.make_sender("p2", ScriptedClient(),
                                  allow=(ipaddress.ip_network("10.0.0.0/8"),))
        self.stop(self.sender)
        self.queue(receipt(2, "http://10.1.2.3/x"))
        self.clock.advance(5.0)            # p2 takes the lease at its next tick
        self.assertEqual(sender.client.calls[0][0], "http://10.1.2.3/x")


class LeaseTests(SenderTestCase):
    def test_one_process_delivers_a_user_the_other_takes_over_when_it_stops(self):
        other = ScriptedClient()
        second = self.make_sender("p2", other)
        self.queue(*[receipt(n) for n in range(3)])
        self.assertEqual(len(self.client.calls), 2)
        self.assertEqual(other.calls, [])
        self.client.answer(200)
        self.turns()
        self.stop(self.sender)             # the third stays pending under p1's name
        self.turns()
        self.assertTrue(self.client.closed)
        self.queue(receipt(9))
        self.clock.advance(5.0)            # p2's tick takes the lease, reads what is new
        self.assertEqual(self.posted(other), ["id9"])
        self.assertEqual(self.left(), 3)   # p1 cut id1 and held id2: in Redis, and id9
        self.assertEqual(second.counters["delivered"], 0)

    def test_a_lost_lease_cuts_what_is_in_flight(self):
        self.queue(receipt(1))
        [call] = self.client.open()
        self.store.leases["hook:esme1"] = ("p9", 1e9)   # someone else's now
        self.clock.advance(5.0)
        self.turns()
        self.assertTrue(call[3].called)   # cancelled
        self.assertEqual(self.left(), 1)  # and still in Redis
        self.assertEqual(self.sender.counters["retried"], 0)
