"""The core's Redis encodings give back exactly what they were given."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.codec import (CorruptEntry, Queued, decode_entry, decode_queued,
                                   encode_entry, encode_queued)
from smpprouter.core.messages import Inbound, Receipt, Submission
from smpprouter.smpp import codec as pdu_codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.tlv import NetworkErrorCode

text = st.text(max_size=30)
octets = st.binary(max_size=300)
u8 = st.integers(0, 255)
tlvs = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"receipted_message_id": st.text("0123456789abcdef", min_size=1,
                                                           max_size=20),
                           "message_state": st.integers(1, 9)}),
    st.fixed_dictionaries({"network_error_code": st.builds(NetworkErrorCode, u8,
                                                           st.integers(0, 65535)),
                           "user_message_reference": st.integers(0, 65535)}),
    st.fixed_dictionaries({0x1500: st.binary(max_size=10)}))


class EntryTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(st.builds(Receipt, text, st.integers(0, 9), octets, text, text, u8, u8, u8, u8, u8,
                     st.sampled_from([0x04, 0x20]), tlvs, text))
    def test_receipts_round_trip(self, receipt):
        self.assertEqual(decode_entry(encode_entry(receipt)), receipt)

    @settings(max_examples=200, deadline=None)
    @given(st.builds(Inbound, text, text, text, octets, u8, u8, u8, u8, u8, u8, text, u8, tlvs))
    def test_inbound_round_trips(self, inbound):
        self.assertEqual(decode_entry(encode_entry(inbound)), inbound)

    def test_an_earlier_versions_entry_is_still_read(self):
        pdu = P.DeliverSm(source_addr="1555", destination_addr="MyBrand", esm_class=0x04,
                          short_message=b"id:abc sub:001 dlvrd:001 stat:DELIVRD err:000",
                          tlvs={"receipted_message_id": "abc", "message_state": 2})
        entry = decode_entry(pdu_codec.encode(pdu))
        self.assertEqual((type(entry), entry.message_id, entry.state), (Receipt, "abc", 2))

    def test_garbage_is_a_corrupt_entry(self):
        for raw in (b"[", b'["?"]', b"[1,2]", b"\x00\x00\x00\x05x"):
            self.assertRaises(CorruptEntry, decode_entry, raw)


class QueuedTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(st.builds(
        Queued, text, st.floats(0, 2e9), st.lists(st.text(min_size=1, max_size=8), min_size=1,
                                                  max_size=3).map(tuple),
        st.builds(Submission, text, text, text, octets, u8, u8, u8, u8, u8, u8, text, u8,
                  st.integers(0, 3), u8, st.integers(0, 1), u8,
                  st.none() | st.floats(0, 2e9), st.none() | st.floats(0, 2e9), tlvs, text,
                  st.booleans()),
        st.integers(1, 255)))
    def test_round_trip(self, queued):
        self.assertEqual(decode_queued(encode_queued(queued)), queued)

    def test_garbage_is_a_corrupt_entry(self):
        for raw in (b"", b"[]", b'["r"]', b'["q", 1]'):
            self.assertRaises(CorruptEntry, decode_queued, raw)


class RenderingTests(SynchronousTestCase):
    def test_a_receipt_is_kept_as_the_deliver_sm_a_v34_session_gets(self):
        receipt = Receipt("abc", 2, b"id:abc stat:DELIVRD", "1555", "MyBrand", 1, 1, 5, 0,
                          tlvs={"receipted_message_id": "abc", "message_state": 2},
                          reference="ref-1")
        raw = encode_entry(receipt)
        from smpprouter.core.codec import rendering
        from smpprouter.smpp.adapt import deliver_pdu
        self.assertEqual(rendering(raw), pdu_codec.encode(deliver_pdu(receipt)))
        self.assertEqual(decode_entry(raw), receipt)

    def test_what_a_deliver_sm_cannot_carry_is_kept_as_json(self):
        from smpprouter.core.codec import rendering
        entry = Inbound("smsc", "x" * 30, "12345", b"hi")   # source beyond 20 characters
        raw = encode_entry(entry)
        self.assertIsNone(rendering(raw))
        self.assertEqual(decode_entry(raw), entry)
