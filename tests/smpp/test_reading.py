"""smpp/reading.py's readers against the path each stands for: the checked
decoder (codec.CHECKED), then adapt.submission with relay_form's octets, or
adapt.upstream_delivery with the frame. On random PDUs, their field values
valid or not, and on mangled octets: the same value (octets kept included),
or the same PDU, or the same DecodeError."""

from dataclasses import replace

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Submission
from smpprouter.smpp import adapt, codec, reading
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import DecodeError, SMPPError
from smpprouter.smpp.receipt import build_receipt

from .strategies import pdu_of
from .test_codec_fast import message
from .test_receipt_octets import receipts

_SUBMIT_SM, _DELIVER_SM = int(P.SubmitSm.command_id), int(P.DeliverSm.command_id)


def _outcome(f, buf, end, status):
    try:
        return ("ok", f(buf, 16, end, status, 7))
    except DecodeError as e:
        return ("error", e.status, str(e))


def _submission(pdu, buf, end):
    """What esme._submit made of a decoded submit_sm (or the SMPPError it answers)."""
    try:
        s = adapt.submission(pdu, "u", 0.0)
    except SMPPError as e:
        return ("refused", e.status)
    return ("value", s, adapt.relay_form(pdu, buf, 0, end))


def _delivery(pdu, buf, end):
    """What smsc.request_received made of a decoded deliver_sm."""
    d = adapt.upstream_delivery(pdu, "up", (pdu, buf, 0, end))
    return ("value", d, getattr(d, "wire", None))


def _read_value(read, user):
    value = read.value
    if type(value) is Submission:
        value.user = user
    return ("value", value, value.wire)


@st.composite
def mangled(draw, pdus):
    """The octets of a PDU drawn from `pdus`, some of them changed or cut, and
    octets of a next frame after it in the buffer."""
    raw = draw(pdus)
    if draw(st.booleans()):
        raw = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(16, len(raw) - 1))
            raw[at] = draw(st.sampled_from((0, 0, 1, 4, 0x1E, 0x41, 0xFF)))
        raw = bytes(raw[:draw(st.integers(16, len(raw)))])
    return raw, raw + draw(st.binary(max_size=4))


def _encoded(pdus):
    def encode(pdu):
        try:
            return codec.encode(pdu)
        except Exception:   # a field past what the wire can carry
            return None
    return pdus.map(encode).filter(lambda raw: raw is not None and len(raw) > 16)


def _usual_submit(pdu):
    return replace(pdu, command_status=0, service_type="", schedule_delivery_time="",
                   validity_period="", tlvs={})


# one or two fields of a usual PDU set to any value its type takes, valid or not
_u8 = st.integers(0, 255)
_ANY = {"service_type": st.sampled_from(("", "CMT")), "source_addr_ton": _u8,
        "source_addr_npi": _u8, "dest_addr_ton": _u8, "dest_addr_npi": _u8,
        "esm_class": _u8, "protocol_id": _u8, "priority_flag": _u8,
        "schedule_delivery_time": st.sampled_from(("", "x", "260101120000000R")),
        "validity_period": st.sampled_from(("", "000001000000000R")),
        "registered_delivery": _u8, "replace_if_present_flag": _u8, "data_coding": _u8,
        "sm_default_msg_id": _u8,
        "short_message": st.one_of(st.just(b""), st.binary(max_size=10),
                                   st.builds(bytes, st.integers(250, 255))),
        "tlvs": st.sampled_from(({}, {"message_payload": b"x"}, {"pe_id": "1"},
                                 {"message_state": 2}))}


def _texts(pdu, tlvs=b""):
    """The octets of pdu (no TLVs) with short_messages of 0 to 255 octets (255
    is one beyond what the encoder writes, and what the checks refuse), then
    the octets `tlvs`."""
    text = pdu.short_message + b"x" * 255
    for n in range(256):
        body = (codec.encode(replace(pdu, short_message=b""))[16:-1] + bytes((n,)) + text[:n]
                + tlvs)
        yield codec.HEADER.pack(16 + len(body), pdu.command_id, 0, 3) + body


def _addresses(pdu):
    """The octets of pdu with a source_addr, then a destination_addr, of 18 to
    23 octets before its NUL (20 is the most a C-string of 21 holds)."""
    raw = codec.encode(replace(pdu, source_addr="", destination_addr=""))
    at = raw.index(b"\0", 16) + 3   # service_type's NUL, then TON and NPI
    for n in range(18, 24):
        for cut in (at, at + 3):      # the source's NUL, or the destination's
            body = raw[16:cut] + b"7" * n + raw[cut:]
            yield codec.HEADER.pack(16 + len(body), pdu.command_id, 0, 3) + body


_OCTET_FIELDS = ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi",
                 "esm_class", "protocol_id", "priority_flag", "registered_delivery",
                 "replace_if_present_flag", "data_coding", "sm_default_msg_id")


@st.composite
def perturbed(draw, pdus):
    pdu = draw(pdus)
    for name in draw(st.lists(st.sampled_from(sorted(_ANY)), max_size=2)):
        pdu = replace(pdu, **{name: draw(_ANY[name])})
    return pdu


@st.composite
def usual_receipt(draw):
    """A receipt as upstreams send it: the fields a router leaves empty, an
    appendix B text, receipted_message_id and message_state or no TLVs."""
    rmid = draw(st.text("0123456789abcdef", min_size=1, max_size=20))
    text = build_receipt(rmid, "2601011200", "2601011201",
                         draw(st.sampled_from(("DELIVRD", "UNDELIV", "FOO"))))
    tlvs = draw(st.sampled_from(({"receipted_message_id": rmid.upper(), "message_state": 2},
                                 {"receipted_message_id": "", "message_state": 0}, {})))
    return P.DeliverSm(0, 9, "", draw(_u8) % 7, 1, draw(st.text("0123456789", max_size=20)),
                       5, 0, draw(st.text("ACME", max_size=20)),
                       draw(st.sampled_from((0x04, 0x20))), data_coding=draw(_u8) % 11,
                       short_message=text, tlvs=tlvs)


_SUBMITS = st.one_of(message(P.SubmitSm), perturbed(pdu_of(P.SubmitSm).map(_usual_submit)))
_RECEIPTS = st.one_of(receipts(pdu_of(P.DeliverSm)), perturbed(usual_receipt()))


class SubmitSmReaderTests(SynchronousTestCase):
    def _same(self, frame, buf, status):
        end = len(frame)
        want = _outcome(codec.CHECKED[_SUBMIT_SM], buf, end, status)
        got = _outcome(reading.read_submit_sm, buf, end, status)
        if want[0] == "error" or type(got[1]) is not reading.SubmitSmRead:
            self.assertEqual(got, want)
            return
        self.assertEqual(got[1].sequence_number, 7)
        self.assertEqual(got[1].command_id, _SUBMIT_SM)
        self.assertEqual(_read_value(got[1], "u"), _submission(want[1], buf, end))

    @settings(max_examples=800, deadline=None)
    @given(mangled(_encoded(_SUBMITS)), st.sampled_from((0, 0, 0, 1)))
    def test_the_decoder_then_adapt(self, case, status):
        self._same(*case, status)

    def test_each_octet_field_at_every_value(self):
        pdu = P.SubmitSm(0, 3, source_addr="ACME", dest_addr_ton=1, dest_addr_npi=1,
                         destination_addr="4477", registered_delivery=1, short_message=b"hi")
        for name in _OCTET_FIELDS:
            for value in range(256):
                raw = codec.encode(replace(pdu, **{name: value}))
                self._same(raw, raw, 0)

    def test_a_text_of_any_length(self):
        pdu = P.SubmitSm(0, 3, source_addr="ACME", destination_addr="4477")
        for raw in _texts(pdu):
            self._same(raw, raw, 0)

    def test_addresses_of_any_length(self):
        for raw in _addresses(P.SubmitSm(0, 3, short_message=b"hi")):
            self._same(raw, raw, 0)

    def test_the_usual_submit_sm_is_read_with_its_octets(self):
        pdu = P.SubmitSm(0, 3, source_addr="ACME", dest_addr_ton=1, dest_addr_npi=1,
                         destination_addr="447700900123", registered_delivery=1,
                         short_message=b"hello")
        raw = codec.encode(pdu) + b"\0\0\0"
        read = reading.read_submit_sm(raw, 16, len(raw) - 3, 0, 3)
        self.assertIs(type(read), reading.SubmitSmRead)
        self.assertEqual(read.value.wire, raw[:-3])
        self.assertEqual((read.value.source, read.value.destination, read.value.body),
                         ("ACME", "447700900123", b"hello"))

    def test_other_forms_get_the_pdu(self):
        pdu = P.SubmitSm(0, 3, source_addr="ACME", destination_addr="4477",
                         short_message=b"hello")
        for other in (replace(pdu, service_type="CMT"), replace(pdu, tlvs={"pe_id": "1"}),
                      replace(pdu, validity_period="000001000000000R"),
                      replace(pdu, data_coding=0xF0), replace(pdu, esm_class=0x04)):
            raw = codec.encode(other)
            try:
                read = reading.read_submit_sm(raw, 16, len(raw), 0, 3)
            except DecodeError:
                continue
            self.assertIs(type(read), P.SubmitSm)
            self.assertEqual(read, codec.CHECKED[_SUBMIT_SM](raw, 16, len(raw), 0, 3))


class ReceiptReaderTests(SynchronousTestCase):
    def _same(self, frame, buf, status):
        end = len(frame)
        want = _outcome(codec.CHECKED[_DELIVER_SM], buf, end, status)
        got = _outcome(reading.read_deliver_sm, buf, end, status)
        if want[0] == "error" or type(got[1]) is not reading.ReceiptRead:
            self.assertEqual(got, want)
            return
        self.assertEqual(got[1].sequence_number, 7)
        self.assertEqual(got[1].command_id, _DELIVER_SM)
        self.assertEqual(_read_value(got[1], None), _delivery(want[1], buf, end))

    @settings(max_examples=800, deadline=None)
    @given(mangled(_encoded(_RECEIPTS)), st.sampled_from((0, 0, 0, 1)))
    def test_the_decoder_then_adapt(self, case, status):
        self._same(*case, status)

    def test_each_octet_field_at_every_value(self):
        for tlvs in ({"receipted_message_id": "AB12", "message_state": 2}, {}):
            pdu = codec.decode(self._receipt(tlvs=tlvs))[0]
            for name in _OCTET_FIELDS:
                for value in range(256):
                    raw = codec.encode(replace(pdu, **{name: value}))
                    self._same(raw, raw, 0)

    def test_a_text_of_any_length(self):
        pdu = codec.decode(self._receipt(tlvs={}))[0]
        pair = codec.encode(replace(pdu, tlvs={"receipted_message_id": "AB12",
                                               "message_state": 2}))
        for tlvs in (b"", pair[-18:]):
            for raw in _texts(pdu, tlvs):
                self._same(raw, raw, 0)

    def test_addresses_of_any_length(self):
        for raw in _addresses(codec.decode(self._receipt(tlvs={}))[0]):
            self._same(raw, raw, 0)

    def _receipt(self, **fields):
        text = build_receipt("ab12", "2601011200", "2601011201", "DELIVRD")
        pdu = P.DeliverSm(0, 9, source_addr="4479", destination_addr="ACME", esm_class=4,
                          short_message=text)
        return codec.encode(replace(pdu, **fields))

    def test_a_usual_receipt_is_read_with_its_octets(self):
        for tlvs in ({"receipted_message_id": "AB12", "message_state": 2}, {}):
            raw = self._receipt(tlvs=tlvs)
            read = reading.read_deliver_sm(raw, 16, len(raw), 0, 9)
            self.assertIs(type(read), reading.ReceiptRead)
            receipt = read.value
            self.assertEqual((receipt.message_id, receipt.state, receipt.tlvs),
                             (tlvs.get("receipted_message_id", "ab12"), 2, tlvs))
            self.assertEqual(receipt.wire, raw[16:16 + 16 + 4 + 4])

    def test_other_forms_get_the_pdu(self):
        for fields in ({"esm_class": 0}, {"service_type": "CMT"},
                       {"tlvs": {"message_state": 2}},
                       {"tlvs": {"receipted_message_id": "AB12", "message_state": 2,
                                 "network_error_code": (3, 0)}},
                       {"short_message": b"not a receipt"}, {"short_message": b""}):
            raw = self._receipt(**fields)
            read = reading.read_deliver_sm(raw, 16, len(raw), 0, 9)
            self.assertIs(type(read), P.DeliverSm, fields)
            self.assertEqual(read, codec.CHECKED[_DELIVER_SM](raw, 16, len(raw), 0, 9))
