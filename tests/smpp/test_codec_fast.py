"""The codec's fast paths against the plain code they replace, on random PDUs
and random octets: the decoders' empty C-string shortcut (codec.reference_decoder
is the decoder without it) and the checked decoders' guard, which skips the field
checks of submit_sm and deliver_sm where they would pass (codec._check_message)."""

from hypothesis import assume, given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.errors import DecodeError

from .strategies import any_pdu, pdu_of

_REFERENCE = {cls.command_id: codec.reference_decoder(cls) for cls in P.ALL}


def _decoded(decoder, buf, pos, end, status, seq):
    try:
        return ("ok", decoder(buf, pos, end, status, seq))
    except DecodeError as e:
        return ("error", e.status, str(e))


# octets of a body: a real PDU's, cut, with octets replaced or zeroed (empty
# C-strings where there were none, NULs where the field ends too early)
@st.composite
def mangled(draw):
    pdu = draw(any_pdu)
    raw = bytearray(codec.encode(pdu))
    for _ in range(draw(st.integers(0, 4))):
        if len(raw) > 16:
            at = draw(st.integers(16, len(raw) - 1))
            raw[at] = draw(st.sampled_from((0, 0, 1, 0x41, 0xFF)))
    cut = draw(st.integers(16, len(raw)))
    tail = draw(st.binary(max_size=4))   # octets of the next frame in the buffer
    return pdu.command_id, bytes(raw[:cut]) + tail, cut


class DecoderFastPathTests(SynchronousTestCase):
    @settings(max_examples=600, deadline=None)
    @given(mangled())
    def test_same_as_the_reference_decoder(self, case):
        cid, buf, end = case
        fast = codec._DECODERS[cid][1]
        self.assertEqual(_decoded(fast, buf, 16, end, 0, 7),
                         _decoded(_REFERENCE[cid], buf, 16, end, 0, 7))

    @settings(max_examples=600, deadline=None)
    @given(mangled(), st.sampled_from((0x34, 0x50, 0x33)), st.booleans())
    def test_decode_frame_is_its_general_path(self, case, version, checked):
        _, buf, end = case
        header = codec.HEADER.unpack_from(buf, 0)

        def outcome(f, *args):
            try:
                return ("ok", f(buf, 0, end, version, checked, *args))
            except DecodeError as e:
                return ("error", e.status, str(e), e.command_id, e.sequence_number)
        self.assertEqual(outcome(codec.decode_frame),
                         outcome(codec._decode_frame, header[1], header[2], header[3]))

    @settings(max_examples=300, deadline=None)
    @given(any_pdu)
    def test_round_trip(self, pdu):
        raw = codec.encode(pdu)
        self.assertEqual(codec.decode(raw, checked=False), (pdu, len(raw)))


# the fields the checks look at, any value, valid or not
_u8 = st.integers(0, 255)


@st.composite
def message(draw, cls):
    pdu = draw(pdu_of(cls))
    for field in ("esm_class", "registered_delivery", "source_addr_ton", "source_addr_npi",
                  "dest_addr_ton", "dest_addr_npi", "priority_flag",
                  "replace_if_present_flag", "data_coding"):
        if draw(st.booleans()):
            setattr(pdu, field, draw(_u8))
    for field in ("schedule_delivery_time", "validity_period"):
        if draw(st.integers(0, 3)) == 0:
            setattr(pdu, field, draw(st.sampled_from(("", "x", "0000000000000000R",
                                                       "26010112000000+"))))
    if draw(st.integers(0, 5)) == 0:
        pdu.short_message = b"x" * draw(st.integers(250, 260))
    return pdu


def _encodable(pdu):
    try:
        return codec.encode(pdu)
    except Exception:   # a field message() set past what the wire can carry
        return None


class CheckedDecoderGuardTests(SynchronousTestCase):
    """decode_checked_X skips its _check where the guard on its locals says
    every check passes: it must answer as the plain decoder plus the general
    check does, on field values valid or not."""

    def _same(self, pdu):
        raw = _encodable(pdu)
        assume(raw is not None)
        cid = pdu.command_id

        def general(buf, pos, end, status, seq):
            p = codec._DECODERS[cid][1](buf, pos, end, status, seq)
            codec._check_message(p, cid)
            return p
        self.assertEqual(_decoded(codec._CHECKED[cid], raw, 16, len(raw), 0, 7),
                         _decoded(general, raw, 16, len(raw), 0, 7))

    @settings(max_examples=600, deadline=None)
    @given(message(P.SubmitSm))
    def test_submit_sm(self, pdu):
        self._same(pdu)

    @settings(max_examples=600, deadline=None)
    @given(message(P.DeliverSm))
    def test_deliver_sm(self, pdu):
        self._same(pdu)


# TLV values as typed, and values no TLV takes (wrong types, out of range, too long)
_odd_value = st.one_of(st.integers(-2, 300), st.booleans(), st.text(max_size=70),
                       st.text("\x00ab\xe9", max_size=4), st.binary(max_size=4), st.none())


@st.composite
def tlv_dicts(draw):
    from .strategies import tlvs
    out = dict(draw(tlvs))
    from smpprouter.smpp.tlv import SPECS
    for name in draw(st.lists(st.sampled_from(sorted(SPECS)), max_size=3)):
        out[name] = draw(_odd_value)
    return out


class TlvFastPathTests(SynchronousTestCase):
    @settings(max_examples=600, deadline=None)
    @given(tlv_dicts())
    def test_same_as_the_general_encoder(self, tlvs):
        self._same_encoding(tlvs)

    def _same_encoding(self, tlvs):
        from smpprouter.smpp.errors import EncodeError
        from smpprouter.smpp.tlv import _encode_tlvs, encode_tlvs

        def outcome(f):
            try:
                return f(tlvs)
            except EncodeError as e:
                return ("EncodeError", e.status, str(e))
            except Exception as e:
                return (type(e).__name__,)
        self.assertEqual(outcome(encode_tlvs), outcome(_encode_tlvs))

    @settings(max_examples=600, deadline=None)
    @given(st.lists(st.sampled_from(("receipted_message_id", "message_state")), min_size=2,
                    max_size=2, unique=True),
           st.one_of(st.text("ab\x00\xe9", max_size=4), st.integers(62, 67).map("a".__mul__),
                     _odd_value),
           st.one_of(st.integers(-2, 300), _odd_value))
    def test_a_receipts_pair(self, order, rmid, state):
        """encode_tlvs' one join for receipted_message_id + message_state."""
        self._same_encoding({key: (rmid if key == "receipted_message_id" else state)
                             for key in order})


@st.composite
def receipt_tlv_stream(draw):
    """A receipt's receipted_message_id + message_state octets (ids around the
    64-character limit, with or without their NUL), mangled, cut, with
    octets of the next frame after its end."""
    from smpprouter.smpp.tlv import SPECS, _TLV_HEADER
    text = draw(st.one_of(st.text("a1", max_size=4), st.integers(62, 67).map("a".__mul__)))
    value = text.encode() + draw(st.sampled_from((b"\0", b"\0", b"", b"\0\0")))
    raw = bytearray(_TLV_HEADER.pack(SPECS["receipted_message_id"][0], len(value)) + value
                    + _TLV_HEADER.pack(SPECS["message_state"][0], 1)
                    + bytes((draw(st.integers(0, 255)),)))
    for _ in range(draw(st.integers(0, 2))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.sampled_from((0, 1, 0x1E, 0x41)))
    end = draw(st.one_of(st.just(len(raw)), st.integers(0, len(raw))))
    return bytes(raw) + draw(st.binary(max_size=4)), end


class TlvDecodeFastPathTests(SynchronousTestCase):
    @settings(max_examples=800, deadline=None)
    @given(receipt_tlv_stream())
    def test_same_as_the_general_loop(self, case):
        from smpprouter.smpp.tlv import _decode_tlvs, decode_tlvs
        buf, end = case

        def outcome(f):
            tlvs = {}
            try:
                f(buf, 0, end, tlvs)
            except DecodeError as e:
                return ("error", e.status, str(e))
            return tlvs
        self.assertEqual(outcome(decode_tlvs), outcome(_decode_tlvs))


@st.composite
def id_response(draw):
    """A submit_sm_resp or deliver_sm_resp's octets, mangled as above, with
    the status of its header (an error's may have a message_id, or not)."""
    cls = draw(st.sampled_from(sorted(codec.ID_RESPONSES.values(), key=lambda c: c.command_id)))
    pdu = draw(pdu_of(cls))
    pdu.command_status = draw(st.sampled_from((0, 0, 0x45, pdu.command_status)))
    if pdu.command_status and draw(st.booleans()):
        pdu.message_id = ""   # the bare header
    raw = bytearray(codec.encode(pdu))
    for _ in range(draw(st.integers(0, 3))):
        if len(raw) > 16:
            raw[draw(st.integers(16, len(raw) - 1))] = draw(st.sampled_from((0, 0x41, 0xFF)))
    cut = draw(st.integers(min(16 + draw(st.integers(0, 2)), len(raw)), len(raw)))
    return bytes(raw[:cut]) + draw(st.binary(max_size=4)), cut


class MessageIdOfTests(SynchronousTestCase):
    """codec.message_id_of, which the protocol reads the two responses of every
    message with, against decode_frame."""

    @settings(max_examples=800, deadline=None)
    @given(id_response(), st.sampled_from((0x34, 0x33)))
    def test_what_it_reads_is_what_decode_frame_decodes(self, case, version):
        buf, end = case
        _, cid, status, seq = codec.HEADER.unpack_from(buf, 0)
        message_id = codec.message_id_of(buf, 0, end, status)
        if message_id is not None:
            self.assertEqual(codec.decode_frame(buf, 0, end, version),
                             codec.ID_RESPONSES[cid](status, seq, message_id, {}))

    @given(st.sampled_from(sorted(codec.ID_RESPONSES.values(), key=lambda c: c.command_id)),
           st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=64),
           st.integers(0, 0xFFFFFFFF))
    def test_the_usual_forms_are_read(self, cls, message_id, status):
        for pdu in (cls(status, 9, message_id), cls(status or 8, 9)):
            raw = codec.encode(pdu)
            self.assertEqual(codec.message_id_of(raw + b"\0\0", 0, len(raw), pdu.command_status),
                             pdu.message_id)

    def test_other_forms_are_left_to_decode_frame(self):
        with_tlv = codec.encode(P.SubmitSmResp(0, 1, "ab", {0x1403: b"x"}))
        for buf in (with_tlv, codec.encode(P.SubmitSmResp(0, 1, ""))[:16],
                    codec.encode(P.SubmitSmResp(0, 1, "a" * 64))[:-1] + b"b\0",
                    codec.encode(P.DeliverSmResp(0, 1, "ab"))[:-1]):
            self.assertIsNone(codec.message_id_of(buf, 0, len(buf), 0), buf)
