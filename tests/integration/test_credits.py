"""Credits, DLT rules and sender ids end to end: real router(s), real Redis, the
simulated SMSC.

esme1 is postpaid (metered) with sender ids, esme2 prepaid and synchronous,
esme3 prepaid and store and forward, with DLT defaults. Prices (routes below):
7 a part to 1..., 10 to 44... (an UNDELIV receipt refunds it), 3 to 91...
(PE_ID and Template_ID required).
"""

from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness, run
from .test_store_forward import FAST, relative

ROK = Status.ESME_ROK
ROUTES = """
[[mt]]
name = "us"
destination_prefix = ["1"]
connectors = ["smsc"]
price = 7

[[mt]]
name = "uk"
destination_prefix = ["44"]
connectors = ["smsc"]
price = 10
refund_undelivered = true

[[mt]]
name = "india"
destination_prefix = ["91"]
connectors = ["smsc"]
require_tlvs = ["pe_id", "template_id"]
price = 3

[[mt]]
name = "free"
destination_prefix = ["33"]
connectors = ["smsc"]
"""
USERS = {
    "esme1": 'sender_ids = ["MyBrand", "4479*"]',
    "esme2": 'billing = "prepaid"\nlow_balance = 50',
    "esme3": 'billing = "prepaid"\nstore_and_forward = true\n'
             'tlv_defaults = { pe_id = "1101000000001", template_id = "1107000000002" }',
}
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)


class CreditsTestCase(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(routes=ROUTES, users=USERS, extra=FAST)
        self.redis = self.h.redis
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def top_up(self, user, amount):
        return self.h.core.store.credit(user, amount, "test", "top-up")

    def balance(self, user):
        value = self.redis.command("GET", "bal:{%s}" % user)
        return int(value) if value is not None else 0

    def ledger(self, user):
        entries = self.redis.command("XRANGE", "ledger:{%s}" % user, "-", "+")
        return [dict(zip(f[::2], f[1::2])) for _, f in entries]

    def assertLedgerSumsToBalance(self, user):
        entries = self.ledger(user)
        self.assertEqual(sum(int(e["amount"]) for e in entries), self.balance(user))
        self.assertEqual(int(entries[-1]["balance"]), self.balance(user))
        return entries


class PrepaidTests(CreditsTestCase):

    def test_charged_per_part_before_sending(self):
        async def go():
            await self.top_up("esme2", 100)
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(self.balance("esme2"), 93)
            # 400 GSM characters in message_payload: 3 parts, 21
            long = dict(MESSAGE, short_message=b"", tlvs={"message_payload": b"x" * 400})
            resp = await client.submit(**long)
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(self.balance("esme2"), 72)
            # split by the ESME (UDHI): each submit_sm one part
            udh = dict(MESSAGE, esm_class=0x40, short_message=b"\x05\x00\x03\x01\x02\x01" +
                       b"y" * 150)
            self.assertEqual((await client.submit(**udh)).command_status, ROK)
            self.assertEqual(self.balance("esme2"), 65)
            # an unpriced route costs nothing (and takes no Redis round trip)
            free = dict(MESSAGE, destination_addr="33612345678")
            self.assertEqual((await client.submit(**free)).command_status, ROK)
            self.assertEqual(self.balance("esme2"), 65)
            entries = self.assertLedgerSumsToBalance("esme2")
            charges = [e for e in entries if e["kind"] == "charge"]
            self.assertEqual([int(e["amount"]) for e in charges], [-7, -21, -7])
            self.assertEqual(charges[0]["why"], "us")
            self.assertEqual(self.h.smsc.message_count, 6)   # the long one as its 3 parts
        return run(go())

    def test_the_ledger_names_the_message_id_the_esme_got(self):
        async def go():
            await self.top_up("esme2", 100)
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(self.ledger("esme2")[-1]["id"], resp.message_id)
            dlr = await client.next_delivery()
            self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
        return run(go())

    def test_short_balance_is_refused_and_nothing_is_sent(self):
        async def go():
            await self.top_up("esme2", 10)
            client = await self.h.bind("transceiver", "esme2")
            first = await client.submit(**MESSAGE)
            second = await client.submit(**MESSAGE)
            self.assertEqual((first.command_status, second.command_status),
                             (ROK, Status.ESME_RINVBALANCE))
            self.assertEqual(self.h.smsc.message_count, 1)
            nothing = await (await self.h.bind("transceiver", "esme3")).submit(**MESSAGE)
            self.assertEqual(nothing.command_status, Status.ESME_RINVBALANCE)
            self.assertEqual(self.balance("esme2"), 3)
            self.assertEqual(self.h.smsc.message_count, 1)
            self.assertEqual(self.h.core.counters["refused_balance"], 2)
            self.assertLedgerSumsToBalance("esme2")
        return run(go())

    def test_refused_upstream_is_refunded_once(self):
        async def go():
            await self.top_up("esme2", 100)
            client = await self.h.bind("transceiver", "esme2")
            self.h.smsc.fail_next(Status.ESME_RINVDSTADR)
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            await wait_for(lambda: self.balance("esme2") == 100)
            ok = await client.submit(**MESSAGE)    # the next one is charged as usual
            self.assertEqual(ok.command_status, ROK)
            entries = self.assertLedgerSumsToBalance("esme2")
            self.assertEqual([(e["kind"], e["amount"]) for e in entries[1:]],
                             [("charge", "-7"), ("refund", "7"), ("charge", "-7")])
            self.assertEqual(entries[1]["id"], entries[2]["id"])
            self.assertEqual(entries[2]["why"], "ESME_RINVDSTADR")
        return run(go())

    def test_low_balance_is_logged_once_per_crossing(self):
        async def go():
            seen = []
            self.h.core.credits.low_balance_hooks.append(lambda *a: seen.append(a))
            await self.top_up("esme2", 70)
            client = await self.h.bind("transceiver", "esme2")
            for _ in range(5):
                self.assertEqual((await client.submit(**MESSAGE)).command_status, ROK)
            self.assertEqual(seen, [("esme2", 49, 50)])
            await self.top_up("esme2", 100)      # 135: above again, armed again
            for _ in range(12):                  # down to 51
                await client.submit(**MESSAGE)
            self.assertEqual(seen, [("esme2", 49, 50)])
            await client.submit(**MESSAGE)       # 44: the second crossing
            self.assertEqual(seen, [("esme2", 49, 50), ("esme2", 44, 50)])
            self.assertEqual(self.h.core.counters["low_balance"], 2)   # the metric's count
        return run(go())

    def test_undelivered_refunds_where_the_route_says_so(self):
        async def go():
            await self.top_up("esme2", 100)
            self.h.smsc.receipt_stat = "UNDELIV"
            client = await self.h.bind("transceiver", "esme2")
            uk = await client.submit(**dict(MESSAGE, destination_addr="447700900123"))
            us = await client.submit(**MESSAGE)
            got = {parse_receipt((await client.next_delivery()).short_message).id
                   for _ in range(2)}
            self.assertEqual(got, {uk.message_id, us.message_id})
            await wait_for(lambda: self.balance("esme2") == 93)   # uk's 10 back, not us' 7
            entries = self.assertLedgerSumsToBalance("esme2")
            refunds = [e for e in entries if e["kind"] == "refund"]
            self.assertEqual([(e["id"], e["amount"], e["why"]) for e in refunds],
                             [(uk.message_id, "10", "UNDELIV")])
            self.assertIsNone(self.redis.command("GET", "chg:{esme2}:" + uk.message_id))
        return run(go())


class StoreForwardRefundTests(CreditsTestCase):

    def test_rejected_is_refunded_once(self):
        async def go():
            await self.top_up("esme3", 100)
            client = await self.h.bind("transceiver", "esme3")
            self.h.smsc.fail_next(Status.ESME_RINVDSTADR)
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, ROK)     # stored: charged
            dlr = await client.next_delivery()
            self.assertEqual(parse_receipt(dlr.short_message).stat, "REJECTD")
            await wait_for(lambda: self.balance("esme3") == 100)
            entries = self.assertLedgerSumsToBalance("esme3")
            self.assertEqual([(e["kind"], e["id"]) for e in entries[1:]],
                             [("charge", resp.message_id), ("refund", resp.message_id)])
        return run(go())

    def test_expired_is_refunded_once(self):
        async def go():
            await self.top_up("esme3", 100)
            self.h.smsc.fail_next(Status.ESME_RTHROTTLED, 10 ** 6)   # never takes it
            client = await self.h.bind("transceiver", "esme3")
            resp = await client.submit(validity_period=relative(1), **MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(self.balance("esme3"), 93)
            dlr = await client.next_delivery()
            self.assertEqual(parse_receipt(dlr.short_message).stat, "EXPIRED")
            await wait_for(lambda: self.balance("esme3") == 100)
            # a second ending (another process, a lease run out) refunds nothing more
            again = await self.h.core.store.refund("esme3", resp.message_id, 0, "m", "again")
            self.assertIsNone(again)
            entries = self.assertLedgerSumsToBalance("esme3")
            self.assertEqual([e["kind"] for e in entries], ["credit", "charge", "refund"])
        return run(go())

    def test_cancelled_is_refunded(self):
        async def go():
            await self.top_up("esme3", 100)
            client = await self.h.bind("transceiver", "esme3")
            resp = await client.submit(schedule_delivery_time=relative(30), **MESSAGE)
            self.assertEqual(self.balance("esme3"), 93)
            cancelled = await client.cancel(resp.message_id, source_addr="MyBrand")
            self.assertEqual(cancelled.command_status, ROK)
            self.assertEqual(self.balance("esme3"), 100)
            self.assertLedgerSumsToBalance("esme3")
        return run(go())


class PostpaidTests(CreditsTestCase):

    def test_metered_in_process_and_nothing_in_redis(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            for _ in range(3):
                self.assertEqual((await client.submit(**MESSAGE)).command_status, ROK)
            self.h.smsc.fail_next(Status.ESME_RINVDSTADR)
            self.assertEqual((await client.submit(**MESSAGE)).command_status,
                             Status.ESME_RINVDSTADR)
            credits = self.h.core.credits
            self.assertEqual((credits.metered["esme1"], credits.metered_parts["esme1"]),
                             (21, 3))
            self.assertEqual([k for k in self.redis.command("KEYS", "*{esme1}*")
                              if k.split(":")[0] in ("bal", "ledger", "chg")], [])
        return run(go())


class DLTTests(CreditsTestCase):
    INDIA = dict(MESSAGE, destination_addr="919876543210")

    def test_missing_tlvs_refused_and_not_charged(self):
        async def go():
            await self.top_up("esme2", 100)
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(**self.INDIA)
            self.assertEqual(resp.command_status, Status.ESME_RMISSINGTLV)
            half = await client.submit(**dict(self.INDIA, tlvs={"pe_id": "1101"}))
            self.assertEqual(half.command_status, Status.ESME_RMISSINGTLV)
            empty = await client.submit(**dict(self.INDIA, tlvs={"pe_id": "1101",
                                                                 "template_id": "\x00"}))
            self.assertEqual(empty.command_status, Status.ESME_RMISSINGTLV)
            self.assertEqual(self.h.smsc.message_count, 0)
            self.assertEqual(self.balance("esme2"), 100)
            full = await client.submit(**dict(self.INDIA, tlvs={"pe_id": "1101",
                                                                "template_id": "1107"}))
            self.assertEqual(full.command_status, ROK)
            self.assertEqual(self.balance("esme2"), 97)
            sent = self.h.smsc.submits[-1]
            self.assertEqual((sent.tlvs["pe_id"], sent.tlvs["template_id"]), ("1101", "1107"))
        return run(go())

    def test_users_defaults_fill_in_what_is_missing(self):
        async def go():
            await self.top_up("esme3", 100)
            client = await self.h.bind("transceiver", "esme3")
            resp = await client.submit(**dict(self.INDIA, tlvs={"template_id": "own"}))
            self.assertEqual(resp.command_status, ROK)
            sent = await self.h.smsc.wait_submits(1)
            self.assertEqual((sent[0].tlvs["pe_id"], sent[0].tlvs["template_id"]),
                             ("1101000000001", "own"))
            # not on routes that require nothing
            await client.submit(**MESSAGE)
            sent = await self.h.smsc.wait_submits(2)
            self.assertNotIn("pe_id", sent[1].tlvs)
            for _ in range(2):   # both sent and finished before the router stops
                await client.next_delivery()
        return run(go())


class SenderIdTests(CreditsTestCase):

    def test_only_its_sender_ids(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            for source, status in (("MyBrand", ROK), ("447912345678", ROK),
                                   ("mybrand", Status.ESME_RINVSRCADR),
                                   ("Other", Status.ESME_RINVSRCADR),
                                   ("4478", Status.ESME_RINVSRCADR)):
                resp = await client.submit(**dict(MESSAGE, source_addr=source))
                self.assertEqual(resp.command_status, status, source)
            self.assertEqual(self.h.smsc.message_count, 2)
            other = await self.h.bind("transceiver", "esme2")   # no list: any source
            await self.top_up("esme2", 10)
            resp = await other.submit(**dict(MESSAGE, source_addr="Other"))
            self.assertEqual(resp.command_status, ROK)
        return run(go())
