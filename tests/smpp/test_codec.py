"""Property tests of the codec: round trips for every PDU type, and no
input, however malformed, raises anything but the codec's typed error."""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import DecodeError, EncodeError, FramingError
from smpprouter.smpp.status import Status

from .strategies import any_pdu, pdu_of

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


class RoundTripTests(SynchronousTestCase):
    @SETTINGS
    @given(any_pdu)
    def test_decode_inverts_encode(self, pdu):
        data = codec.encode(pdu)
        decoded, consumed = codec.decode(data)
        self.assertEqual(consumed, len(data))
        self.assertEqual(decoded, pdu)
        # And re-encoding is byte-exact: what the router relays is what it got.
        self.assertEqual(codec.encode(decoded), data)

    def test_every_type_round_trips(self):
        # The property above samples types; this guarantees each one is hit.
        for cls in P.ALL:
            @settings(max_examples=25, deadline=None)
            @given(pdu_of(cls))
            def check(pdu):
                self.assertEqual(codec.decode(codec.encode(pdu))[0], pdu)
            check()

    @SETTINGS
    @given(any_pdu, st.integers(1, 40))
    def test_incomplete_input_needs_more(self, pdu, cut):
        data = codec.encode(pdu)
        self.assertEqual(codec.decode(data[:max(0, len(data) - cut)]), (None, 0))

    def test_v33_encoding_drops_tlvs(self):
        p = P.SubmitSm(sequence_number=1, source_addr="1", tlvs={"user_message_reference": 1})
        data = codec.encode(p, version=0x33)
        self.assertEqual(codec.decode(data, version=0x33)[0],
                         P.SubmitSm(sequence_number=1, source_addr="1"))


class MalformedInputTests(SynchronousTestCase):
    def assertOnlyDecodeError(self, data):
        try:
            result = codec.decode(data)
        except DecodeError as e:
            self.assertIsInstance(e.status, int)
            self.assertTrue(e.reason)
            return None
        return result

    @settings(max_examples=1500, deadline=None)
    @given(st.binary(max_size=300))
    @example(b"\x00\x00\x00\x10\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01")
    def test_random_bytes(self, data):
        self.assertOnlyDecodeError(data)

    @settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(any_pdu, st.data())
    def test_mutated_valid_pdus(self, pdu, data):
        raw = bytearray(codec.encode(pdu))
        for _ in range(data.draw(st.integers(1, 4))):
            where = data.draw(st.integers(4, len(raw) - 1)) if len(raw) > 4 else 0
            action = data.draw(st.sampled_from(("flip", "insert", "delete")))
            if action == "flip":
                raw[where] = data.draw(st.integers(0, 255))
            elif action == "insert":
                raw.insert(where, data.draw(st.integers(0, 255)))
            elif len(raw) > 16:
                del raw[where]
        # Keep command_length honest half the time, so the body parser is reached.
        if data.draw(st.booleans()):
            raw[0:4] = len(raw).to_bytes(4, "big")
        result = self.assertOnlyDecodeError(bytes(raw))
        if result is not None and result[0] is not None:
            # Whatever decodes must encode again.
            codec.encode(result[0])

    def test_errors_carry_header_fields(self):
        data = bytes.fromhex("00000011" "00000015" "00000000" "0000002a" "00")
        with self.assertRaises(DecodeError) as cm:
            codec.decode(data)
        e = cm.exception
        self.assertEqual((e.status, e.command_id, e.sequence_number),
                         (Status.ESME_RINVCMDLEN, 0x15, 42))

    def test_framing_error_on_huge_length(self):
        data = bytes.fromhex("00100000" "00000004" "00000000" "00000007")
        with self.assertRaises(FramingError) as cm:
            codec.decode(data, max_length=4096)
        self.assertEqual((cm.exception.status, cm.exception.sequence_number),
                         (Status.ESME_RINVCMDLEN, 7))


class EncodeErrorTests(SynchronousTestCase):
    def test_overlong_address(self):
        with self.assertRaises(EncodeError) as cm:
            codec.encode(P.SubmitSm(sequence_number=1, destination_addr="1" * 21))
        self.assertEqual(cm.exception.status, Status.ESME_RINVDSTADR)

    def test_non_latin1_text(self):
        with self.assertRaises(EncodeError):
            codec.encode(P.SubmitSm(sequence_number=1, source_addr="\u20ac"))

    def test_long_short_message(self):
        with self.assertRaises(EncodeError) as cm:
            codec.encode(P.SubmitSm(sequence_number=1, short_message=b"x" * 255))
        self.assertEqual(cm.exception.status, Status.ESME_RINVMSGLEN)

    def test_out_of_range_integer(self):
        with self.assertRaises(EncodeError):
            codec.encode(P.SubmitSm(sequence_number=1, esm_class=256))

    def test_bad_tlv_value(self):
        with self.assertRaises(EncodeError) as cm:
            codec.encode(P.SubmitSm(sequence_number=1, tlvs={"sar_msg_ref_num": 70000}))
        self.assertEqual(cm.exception.status, Status.ESME_RINVTLVVAL)


class ToleranceTests(SynchronousTestCase):
    """What we accept beyond the letter of the spec must still re-encode."""

    def _receipt_with_id(self, raw_value):
        body = bytes.fromhex("00" "0101" "3434373700" "0101" "3434373800" "04" "00000000"
                             "00000000" "00") + b"\x00\x1e" + len(raw_value).to_bytes(2, "big")
        body += raw_value
        return (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000005" "00000000"
                                                                   "00000001") + body

    def test_unterminated_cstring_tlv_that_fits_is_accepted(self):
        pdu, _ = codec.decode(self._receipt_with_id(b"A" * 64))
        self.assertEqual(pdu.tlvs["receipted_message_id"], "A" * 64)
        self.assertEqual(codec.decode(codec.encode(pdu))[0], pdu)

    def test_unterminated_cstring_tlv_at_the_limit_is_refused(self):
        with self.assertRaises(DecodeError) as cm:
            codec.decode(self._receipt_with_id(b"A" * 65))
        self.assertEqual(cm.exception.status, Status.ESME_RINVTLVLEN)

    def test_overlong_dl_name_encodes_with_its_own_status(self):
        with self.assertRaises(EncodeError) as cm:
            codec.encode(P.SubmitMulti(sequence_number=1,
                                       dest_addresses=(P.DistributionList("x" * 21),)))
        self.assertEqual(cm.exception.status, Status.ESME_RINVDLNAME)


class FieldStatusTests(SynchronousTestCase):
    """Seed 002's per-field statuses: each bad field is refused with its own
    status (the session answers with it: see test_peers' priority_flag)."""

    def assertRefused(self, data, status):
        with self.assertRaises(DecodeError) as cm:
            codec.decode(data)
        self.assertEqual(cm.exception.status, status, cm.exception.reason)

    def patched(self, pdu, old, new):
        data = codec.encode(pdu)
        self.assertEqual(data.count(old), 1)
        data = data.replace(old, new)
        return len(data).to_bytes(4, "big") + data[4:]

    def test_ton_npi_and_replace_flag(self):
        base = dict(sequence_number=1, source_addr="1", destination_addr="4477")
        for fields, status in [(dict(source_addr_ton=7), Status.ESME_RINVSRCTON),
                               (dict(source_addr_npi=2), Status.ESME_RINVSRCNPI),
                               (dict(dest_addr_ton=9), Status.ESME_RINVDSTTON),
                               (dict(dest_addr_npi=7), Status.ESME_RINVDSTNPI),
                               (dict(replace_if_present_flag=2), Status.ESME_RINVREPFLAG)]:
            self.assertRefused(codec.encode(P.SubmitSm(**base, **fields)), status)
            # The same message with the field in range is accepted.
            codec.decode(codec.encode(P.SubmitSm(**base)))

    def test_overlong_service_type(self):
        pdu = P.SubmitSm(sequence_number=1, service_type="CMT", destination_addr="4477")
        self.assertRefused(self.patched(pdu, b"CMT\0", b"CMTABC\0"), Status.ESME_RINVSERTYP)
        codec.decode(self.patched(pdu, b"CMT\0", b"CMTAB\0"))   # 5 is the limit

    def test_overlong_message_id(self):
        pdu = P.QuerySm(sequence_number=1, message_id="abc", source_addr="1")
        self.assertRefused(self.patched(pdu, b"abc\0", b"a" * 65 + b"\0"), Status.ESME_RINVMSGID)
        codec.decode(self.patched(pdu, b"abc\0", b"a" * 64 + b"\0"))
