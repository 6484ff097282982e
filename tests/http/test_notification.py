"""Webhook bodies: seed 004's shapes from receipts and MOs."""

import json
from types import SimpleNamespace

from hypothesis import given, strategies as st
from twisted.trial.unittest import TestCase

from smpprouter.core.codec import decode_entry, encode_click
from smpprouter.core.messages import Click, Inbound, Receipt
from smpprouter.http.meta import encode_meta
from smpprouter.http.notification import STATES, entry_time, iso_time, mo_body, render, \
    receipt_body, webhook_url
from smpprouter.smpp.text import DC_UCS2

TEXT = (b"id:00000000000000ab sub:001 dlvrd:001 submit date:2607201713 "
        b"done date:2607201714 stat:DELIVRD err:000 text:hello")


def receipt(state=2, text=TEXT, reference=""):
    return Receipt("ab", state, text, "15551234567", "MyBrand", reference=reference)


class ReceiptBodyTests(TestCase):
    def test_the_seeds_shape_with_the_messages_ids(self):
        meta = encode_meta({"correlationid": "c1", "callbackData": "cb", "notifydata": "nd",
                            "notifyurl": "https://example.com/x"})
        body = json.loads(receipt_body(receipt(reference=meta), 0.0))
        self.assertEqual(body, {"deliveryInfoNotification": {
            "deliveryInfo": {"deliveryChannel": "SMS", "Description": "Delivered",
                             "destinationType": "msisdn",
                             "timeStamp": "2026-07-20T17:14:00.000", "code": "7500",
                             "deliveryStatus": "Delivered", "destination": "15551234567"},
            "correlationid": "c1", "callbackData": "cb", "notifydata": "nd",
            "transid": "ab"}})

    def test_a_failure_names_its_state_and_err(self):
        text = TEXT.replace(b"DELIVRD err:000", b"UNDELIV err:012")
        info = json.loads(receipt_body(receipt(5, text), 0.0))["deliveryInfoNotification"]
        self.assertEqual(info["deliveryInfo"]["code"], "7503")
        self.assertEqual(info["deliveryInfo"]["deliveryStatus"], "Undeliverable")
        self.assertEqual(info["deliveryInfo"]["Description"], "Undeliverable (err 012)")
        self.assertNotIn("correlationid", info)   # the message gave none

    def test_no_done_date_takes_the_queue_time(self):
        info = json.loads(receipt_body(receipt(text=b"id:ab stat:DELIVRD"), 1.5))
        self.assertEqual(info["deliveryInfoNotification"]["deliveryInfo"]["timeStamp"],
                         "1970-01-01T00:00:01.500")

    def test_every_state_has_its_own_code(self):
        codes = [code for code, _ in STATES.values()]
        self.assertEqual(len(set(codes)), len(codes))
        info = json.loads(receipt_body(receipt(42), 0.0))
        self.assertEqual(info["deliveryInfoNotification"]["deliveryInfo"]["code"], "7505")

    @given(st.binary(max_size=200), st.integers(0, 255), st.text(max_size=50))
    def test_any_receipt_renders(self, text, state, reference):
        body = receipt_body(receipt(state, text, reference), 0.0)
        self.assertIn("deliveryInfoNotification", json.loads(body))


class MOBodyTests(TestCase):
    def test_the_seeds_shape(self):
        mo = Inbound("smsc", "15550001111", "12345", b"hello")
        self.assertEqual(json.loads(mo_body("esme1", mo, "esme1:5-0", 1.25)), {
            "userId": "esme1", "channel": "SMS", "da": "12345", "oa": "15550001111",
            "message": "hello", "tid": "esme1:5-0", "datetime": "1970-01-01T00:00:01.250",
            "ts": "1250"})

    def test_ucs2_and_a_udh_are_decoded(self):
        mo = Inbound("smsc", "1", "2", b"\x05\x00\x03\x07\x02\x01" + "é€".encode("utf-16-be"),
                     DC_UCS2, esm_class=0x40)
        self.assertEqual(json.loads(mo_body("u", mo, "e", 0))["message"], "é€")

    def test_binary_is_given_in_hex(self):
        mo = Inbound("smsc", "1", "2", b"\x00\xff", 0x04)
        self.assertEqual(json.loads(mo_body("u", mo, "e", 0))["message"], "00ff")

    def test_render_dispatches(self):
        self.assertIn(b"userId", render("u", Inbound("c", "1", "2", b"x"), "e", 0))
        self.assertIn(b"transid", render("u", receipt(), "e", 0))


class WhereTests(TestCase):
    def test_notifyurl_first_then_dlr_url_and_mo_url(self):
        user = SimpleNamespace(dlr_url="http://a/dlr", mo_url="http://a/mo")
        self.assertEqual(webhook_url(user, receipt()), "http://a/dlr")
        own = receipt(reference=encode_meta({"notifyurl": "http://b/n"}))
        self.assertEqual(webhook_url(user, own), "http://b/n")
        self.assertEqual(webhook_url(user, Inbound("c", "1", "2")), "http://a/mo")
        self.assertEqual(webhook_url(SimpleNamespace(dlr_url="", mo_url=""), receipt()), "")

    def test_times(self):
        self.assertEqual(entry_time("1733040000123-7"), 1733040000.123)
        self.assertEqual(iso_time(1733040000.123), "2024-12-01T08:00:00.123")


class ClickBodyTests(TestCase):
    def test_a_click_its_url_and_its_body_through_the_queue(self):
        click = Click("1f", "5", "https://e.com/g?a=1", "15551234567", 3, 1733047230.5,
                      encode_meta({"correlationid": "c", "notifydata": "n",
                                   "notifyurl": "https://x.e/dr"}))
        stored = decode_entry(encode_click(click))
        self.assertEqual(stored, click)
        account = SimpleNamespace(dlr_url="https://e.com/dlr", mo_url="https://e.com/mo",
                                  click_url="https://e.com/click")
        self.assertEqual(webhook_url(account, stored), "https://e.com/click")
        self.assertEqual(json.loads(render("u", stored, "u:1-0", 0.0)), {"clickNotification": {
            "transid": "1f", "linkid": "5", "url": "https://e.com/g?a=1",
            "destination": "15551234567", "clicks": 3, "timeStamp": "2024-12-01T10:00:30.500",
            "correlationid": "c", "notifydata": "n"}})
