"""Receipt profiles per user end to end: the simulated SMSC's receipt (dates
YYMMDDhhmm, `Text:`, err 011) as each user's profile writes it, and the
router's own receipts in the same profile."""

import os
import time

from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status
from smpprouter.smpp.times import parse_receipt_date

from .harness import RouterHarness, run

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "etc")
SEED002 = os.path.join(ETC, "receipt-maps", "seed002.toml")
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)


class ProfileTestCase(TestCase):
    timeout = 30
    connector = ""

    def setUp(self):
        self.h = RouterHarness(
            connector=self.connector,
            smsc=dict(receipt_stat="UNDELIV", receipt_err=11),
            users={"esme1": "",
                   "esme2": 'receipt_dates = "seconds"\nreceipt_text = "text"\n'
                            'receipt_codes = "%s"' % SEED002,
                   "esme3": 'receipt_dates = "minutes"\nreceipt_text = "Text"\n'
                            'receipt_dlvrd = "omit"'})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def receipt(self, user, client=None, **fields):
        client = client or await self.h.bind("transceiver", user)
        resp = await client.submit(**dict(MESSAGE, **fields))
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        dlr = await client.next_delivery()
        self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
        return dlr.short_message


class ReceiptProfileTests(ProfileTestCase):
    def test_the_default_profile_relays_the_upstreams_receipt_as_it_wrote_it(self):
        async def go():
            text = await self.receipt("esme1")
            receipt = parse_receipt(text)
            self.assertEqual((len(receipt.submit_date), len(receipt.done_date), receipt.err),
                             (10, 10, "011"))
            self.assertIn(b" Text:", text)
            self.assertIn(b" dlvrd:", text)
        return run(go())

    def test_seconds_lower_case_text_and_seed002_codes(self):
        async def go():
            text = await self.receipt("esme2")
            receipt = parse_receipt(text)
            self.assertEqual((len(receipt.submit_date), len(receipt.done_date)), (12, 12))
            self.assertTrue(receipt.done_date.endswith("00"))   # the upstream gave minutes
            self.assertEqual((receipt.stat, receipt.err), ("UNDELIV", "001"))  # 11: INVALID-SUB
            self.assertIn(b" text:", text)
            self.assertNotIn(b"Text:", text)
            self.assertEqual(receipt.text, "hello there")
        return run(go())

    def test_minutes_and_capitalised_text(self):
        async def go():
            client = await self.h.bind("transceiver", "esme3")
            text = await self.receipt("esme3", client)   # as this upstream writes them
            receipt = parse_receipt(text)
            self.assertEqual((len(receipt.submit_date), receipt.err), (10, "011"))
            self.assertIn(b" Text:", text)
            self.assertEqual((receipt.sub, receipt.dlvrd), ("001", None))   # seed 000's fields
            self.assertNotIn(b"dlvrd:", text)
            # an upstream writing seconds and text: (failures only asked for, so the
            # simulator sends none of its own)
            self.h.smsc.receipt_stat = "DELIVRD"
            mapped = set(self.h.redis.command("KEYS", "map:{smsc}:*"))
            resp = await client.submit(**dict(MESSAGE, registered_delivery=2))
            [key] = set(self.h.redis.command("KEYS", "map:{smsc}:*")) - mapped
            upstream_id = key.split(":", 2)[2]
            answer = await self.h.smsc.send_mo(
                "15551234567", "MyBrand", b"id:%s submit date:261201134512 done date:"
                b"261201134559 stat:UNDELIV err:001 text:hi" % upstream_id.encode(),
                esm_class=0x04, tlvs={"receipted_message_id": upstream_id})
            self.assertEqual(answer.command_status, Status.ESME_ROK)
            dlr = await client.next_delivery()
            self.assertEqual(dlr.short_message,
                             b"id:%s submit date:2612011345 done date:2612011345 "
                             b"stat:UNDELIV err:001 Text:hi" % resp.message_id.encode())
        return run(go())


class RouterMadeProfileTests(ProfileTestCase):
    connector = "receipt_timeout = 1"

    def test_the_routers_own_receipt_in_the_profile_with_exact_seconds(self):
        async def go():
            self.h.smsc.receipt_stat = "DELIVRD"   # failures only asked for: none comes
            before = time.time()
            text = await self.receipt("esme2", registered_delivery=2)
            receipt = parse_receipt(text)
            self.assertEqual((receipt.stat, receipt.err), ("UNKNOWN", "099"))
            done = parse_receipt_date(receipt.done_date).timestamp()
            self.assertTrue(int(before) <= done <= time.time(), (before, receipt.done_date))
            self.assertIn(b" text:", text)
        return run(go())


class Seed000CodesTests(TestCase):
    """A seed-000 user's duplicate: the router's REJECTD receipt says 18, not 460."""
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(users={
            "esme1": "", "esme3": "",
            "esme2": 'store_and_forward = true\nduplicate_window = 60\n'
                     'receipt_codes = "%s"' % os.path.join(ETC, "receipt-maps", "seed000.toml")})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_a_duplicate_reports_seed_000s_18(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            first = await client.submit(**MESSAGE)
            second = await client.submit(**MESSAGE)
            self.assertEqual((first.command_status, second.command_status),
                             (Status.ESME_ROK, Status.ESME_ROK))
            receipts = {}
            for _ in range(2):
                r = parse_receipt((await client.next_delivery()).short_message)
                receipts[r.id] = (r.stat, r.err)
            self.assertEqual(receipts[second.message_id], ("REJECTD", "018"))
            self.assertEqual(receipts[first.message_id], ("DELIVRD", "000"))
        return run(go())
