"""Event ids and signatures, checked as a receiver would."""

import hashlib
import hmac

from hypothesis import given, strategies as st
from twisted.trial.unittest import TestCase

from smpprouter.http import signing


class SigningTests(TestCase):
    def test_the_documented_recipe(self):
        body, ts = b'{"a":1}', "1733040000"
        headers = signing.headers("esme1:1-0", ts, body, b"s3cret")
        expected = hmac.new(b"s3cret", b"1733040000." + body, hashlib.sha256).hexdigest()
        self.assertEqual(headers[signing.SIGNATURE], [b"v1=" + expected.encode()])
        self.assertEqual(headers[signing.EVENT_ID], [b"esme1:1-0"])
        self.assertEqual(headers[signing.TIMESTAMP], [b"1733040000"])

    def test_no_secret_no_signature(self):
        self.assertNotIn(signing.SIGNATURE, signing.headers("e", "1", b"x"))

    def test_verify_refuses_old_tampered_and_foreign(self):
        body, ts = b"{}", "1000"
        good = signing.signature(b"k", ts, body)
        self.assertTrue(signing.verify(b"k", ts, body, good, now=1100))
        self.assertTrue(signing.verify(b"k", ts, body, "v1=00," + good, now=1100))
        self.assertFalse(signing.verify(b"k", ts, body, good, now=1000 + 301))
        self.assertFalse(signing.verify(b"k", ts, body + b" ", good, now=1000))
        self.assertFalse(signing.verify(b"other", ts, body, good, now=1000))
        self.assertFalse(signing.verify(b"k", "1001", body, good, now=1000))
        self.assertFalse(signing.verify(b"k", "x", body, good, now=1000))
        self.assertFalse(signing.verify(b"k", ts, body, "v1=é", now=1000))

    def test_event_id_is_stable_and_names_the_entry(self):
        self.assertEqual(signing.event_id("esme1", "17-3"), signing.event_id("esme1", "17-3"))
        self.assertNotEqual(signing.event_id("esme1", "17-3"), signing.event_id("esme2", "17-3"))

    @given(st.binary(), st.binary(min_size=1), st.integers(0, 2 ** 40))
    def test_what_is_signed_verifies(self, body, secret, ts):
        header = signing.headers("e", str(ts), body, secret)[signing.SIGNATURE][0].decode()
        self.assertTrue(signing.verify(secret, str(ts), body, header, now=ts))
