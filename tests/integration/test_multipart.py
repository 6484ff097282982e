"""Router-side splitting (core/multipart.py) end to end: an ESME, the router,
the simulated SMSC and real Redis. One id, parts upstream, one receipt."""

import os

from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.segment import parse_udh
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness, run

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "etc")
# 400 GSM characters with escapes (each a 2-septet pair) among them
TEXT = ("Hello [world] " * 29)[:400]
LONG = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
            dest_addr_ton=1, dest_addr_npi=1, short_message=b"", registered_delivery=1)


def payload(text):
    from smpprouter.smpp.text import gsm7_encode
    return gsm7_encode(text)


class SplitTestCase(TestCase):
    timeout = 30
    harness_args = {}

    def setUp(self):
        self.h = RouterHarness(**self.harness_args)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def only_receipt(self, client, upstream_receipts):
        """The one receipt the user gets, once the router has handled every part's."""
        dlr = await client.next_delivery()
        await wait_for(lambda: self.h.core.counters["receipts"] == upstream_receipts)
        await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{esme1}") == 0)
        self.assertEqual(len(client._unread), 0, "a second receipt")
        return dlr


class RouterSplitsTests(SplitTestCase):

    def test_400_characters_arrive_as_3_udh_parts_with_one_delivrd_receipt(self):
        async def go():
            client = await self.h.bind("transceiver")
            body = payload(TEXT)
            self.assertEqual(len(body), 457)   # 57 escapes: "[" and "]" take two septets
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": body}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            parts = self.h.smsc.submits
            self.assertEqual(len(parts), 3)
            udhs = [parse_udh(p.short_message) for p in parts]
            self.assertEqual({(u.concat.total, u.concat.seqnum) for u in udhs},
                             {(3, 1), (3, 2), (3, 3)})
            self.assertEqual(len({u.concat.ref for u in udhs}), 1)
            for p in parts:
                self.assertTrue(p.esm_class & 0x40)
                self.assertNotIn("message_payload", p.tlvs)
                self.assertLessEqual(len(p.short_message), 159)   # 6 octets + 153 septets
            joined = b"".join(u.payload for u in sorted(udhs, key=lambda u: u.concat.seqnum))
            self.assertEqual(joined, body)
            for u in udhs[:-1]:
                self.assertNotEqual(u.payload[-1], 0x1B)   # no escape cut from its char
            dlr = await self.only_receipt(client, 3)
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            self.assertEqual(dlr.tlvs["message_state"], 2)
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err, receipt.sub,
                              receipt.dlvrd), (resp.message_id, "DELIVRD", "000", "003", "003"))
            self.assertEqual(self.h.core.counters["receipts_multipart"], 1)
            self.assertEqual(self.h.core.counters["receipts_unknown"], 0)
            # query_sm sees the message's state
            query = await client.query(resp.message_id, source_addr="MyBrand", source_addr_ton=5)
            self.assertEqual(query.message_state, 2)
        return run(go())

    def test_one_part_failed_gives_err_101_and_all_failed_err_102(self):
        async def go():
            client = await self.h.bind("transceiver")
            self.h.smsc.receipt_stats = {2: "UNDELIV"}
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": payload(TEXT)}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            dlr = await self.only_receipt(client, 3)
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err, receipt.sub,
                              receipt.dlvrd), (resp.message_id, "UNDELIV", "101", "003", "002"))
            self.assertEqual(dlr.tlvs["message_state"], 5)
            self.h.smsc.receipt_stats = {4: "UNDELIV", 5: "EXPIRED"}
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": b"x" * 300}))
            dlr = await client.next_delivery()
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err, receipt.sub,
                              receipt.dlvrd), (resp.message_id, "UNDELIV", "102", "002", "000"))
        return run(go())

    def test_a_data_sm_goes_as_submit_sm_parts(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.data_sm(source_addr="MyBrand", dest_addr_ton=1,
                                        destination_addr="15551234567", registered_delivery=1,
                                        message_payload=b"y" * 200)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual([p.command_id for p in self.h.smsc.submits], [4, 4])
            dlr = await self.only_receipt(client, 2)
            self.assertEqual(parse_receipt(dlr.short_message).sub, "002")
            # one that fits: a submit_sm, whole
            resp = await client.data_sm(source_addr="MyBrand", dest_addr_ton=1,
                                        destination_addr="15551234567", message_payload=b"hi")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            last = self.h.smsc.submits[-1]
            self.assertEqual((last.command_id, last.short_message, last.esm_class),
                             (4, b"hi", 0))
        return run(go())

    def test_a_message_the_user_split_keeps_a_receipt_per_part(self):
        async def go():
            client = await self.h.bind("transceiver")
            ids = []
            for seq in (1, 2):
                part = b"\x05\x00\x03\x07\x02" + bytes((seq,)) + b"z" * 150
                resp = await client.submit(**dict(LONG, esm_class=0x40, short_message=part))
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                ids.append(resp.message_id)
            self.assertEqual([p.short_message[:6] for p in self.h.smsc.submits],
                             [b"\x05\x00\x03\x07\x02\x01", b"\x05\x00\x03\x07\x02\x02"])
            got = {(await client.next_delivery()).tlvs["receipted_message_id"]
                   for _ in ids}
            self.assertEqual(got, set(ids))
        return run(go())


class SarConnectorTests(SplitTestCase):
    harness_args = dict(connector='split = "sar"\nmax_octets = 100')

    def test_parts_carry_sar_tlvs_sized_to_the_upstream(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": b"s" * 200}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            parts = self.h.smsc.submits
            # 100 octets on air: 107 septets a part
            self.assertEqual([len(p.short_message) for p in parts], [107, 93])
            self.assertEqual([(p.tlvs["sar_total_segments"], p.tlvs["sar_segment_seqnum"])
                              for p in parts], [(2, 1), (2, 2)])
            self.assertEqual(len({p.tlvs["sar_msg_ref_num"] for p in parts}), 1)
            self.assertFalse(any(p.esm_class & 0x40 for p in parts))
            dlr = await self.only_receipt(client, 2)
            self.assertEqual(parse_receipt(dlr.short_message).stat, "DELIVRD")
        return run(go())


class MessagePayloadConnectorTests(SplitTestCase):
    harness_args = dict(connector="message_payload = true")

    def test_an_upstream_that_takes_message_payload_gets_it_whole(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": b"w" * 400}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            (sent,) = self.h.smsc.submits
            self.assertEqual(sent.tlvs["message_payload"], b"w" * 400)
            dlr = await client.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
        return run(go())


class ReceiptMapTests(SplitTestCase):
    harness_args = dict(
        connector='receipt_map = "%s"' % os.path.join(ETC, "receipt-maps", "seed002.toml"),
        smsc=dict(receipt_stat="DNDNUMB", receipt_err=408))

    def test_the_upstreams_codes_reach_the_user_as_seed_000s(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(LONG, short_message=b"hello"))
            dlr = await client.next_delivery()
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err),
                             (resp.message_id, "REJECTD", "013"))
            self.assertEqual(dlr.tlvs["message_state"], 8)
        return run(go())


class StoreAndForwardSplitTests(SplitTestCase):
    """The outbound drainer splits as the synchronous path does."""
    harness_args = dict(users={"esme1": "store_and_forward = true", "esme2": "", "esme3": ""})

    def test_a_queued_long_message_goes_in_parts_with_one_receipt(self):
        async def go():
            client = await self.h.bind("transceiver")
            self.h.smsc.receipt_stats = {1: "UNDELIV"}
            resp = await client.submit(**dict(LONG, tlvs={"message_payload": payload(TEXT)}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            dlr = await self.only_receipt(client, 3)
            self.assertEqual(len(self.h.smsc.submits), 3)
            self.assertTrue(all(p.esm_class & 0x40 for p in self.h.smsc.submits))
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err, receipt.sub,
                              receipt.dlvrd), (resp.message_id, "UNDELIV", "101", "003", "002"))
        return run(go())
