"""An upstream's receipt kept as its octets (adapt.upstream_delivery with the
frame, then adapt.deliver_octets) against the general path (deliver_pdu, then
the codec), and rewrite_id's shortcut against its general loop: the same
octets for every receipt, whatever the core changed in it on the way."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Receipt
from smpprouter.smpp import adapt, codec
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import DecodeError
from smpprouter.smpp.receipt import _rewrite_id, build_receipt, rewrite_id

from .strategies import pdu_of


_EMPTY = dict(service_type="", protocol_id=0, priority_flag=0, schedule_delivery_time="",
              validity_period="", registered_delivery=0, replace_if_present_flag=0,
              sm_default_msg_id=0)


_SET = {"service_type": st.sampled_from(("CMT", "x")),
        "schedule_delivery_time": st.just("260101120000000R"),
        "validity_period": st.just("260101120000000R")}


@st.composite
def receipts(draw, pdu):
    """deliver_sm receipts, most of them with the fields a router's receipt
    leaves empty: all of them, all but one (set), or as drawn, so that both
    sides of adapt._wire's condition are covered."""
    p = draw(pdu)
    mode = draw(st.integers(0, 3))
    fields = dict(_EMPTY)
    if mode == 1:
        name = draw(st.sampled_from(sorted(_EMPTY)))
        fields[name] = draw(_SET.get(name, st.integers(1, 255)))
    elif mode == 2:
        fields = {}
    text = draw(st.one_of(st.none(), st.just(b""), st.builds(
        lambda i, s: build_receipt(i, "2601011200", "2601011201", s),
        st.text("0123456789abcdef", min_size=1, max_size=20),
        st.sampled_from(("DELIVRD", "UNDELIV", "EXPIRED")))))
    rmi = draw(st.one_of(st.none(), st.text("0123456789ABCDEF", min_size=1, max_size=20)))
    state = draw(st.sampled_from((0, 2, 5)))
    tlvs = dict(p.tlvs)
    if rmi:
        tlvs["receipted_message_id"] = rmi
    if state:
        tlvs["message_state"] = state
    return replace(p, command_status=0,
                   esm_class=draw(st.sampled_from((0x04, 0x04, 0x20, 0x44, 0x05, 0x84))),
                   short_message=text if text is not None else p.short_message, tlvs=tlvs,
                   **fields)


def changed(receipt, new_id, text, profile_text):
    """What the core does to a receipt on its way (core/receipts.py _relay,
    a receipt map, a receipt profile): its id, text and TLVs."""
    if text:
        try:
            receipt.text = rewrite_id(receipt.text, new_id)
        except ValueError:
            pass
    receipt.tlvs["receipted_message_id"] = receipt.message_id = new_id
    if profile_text is not None:
        receipt.text = profile_text
    return receipt


class ReceiptOctetsTests(SynchronousTestCase):
    @settings(max_examples=400, deadline=None)
    @given(receipts(pdu_of(P.DeliverSm)), st.binary(max_size=20), st.binary(max_size=5),
           st.text("0123456789abcdefABCDEF", min_size=1, max_size=16), st.booleans(),
           st.one_of(st.none(), st.binary(max_size=300)))
    def test_the_general_path_byte_for_byte(self, pdu, before, after, new_id, text,
                                            profile_text):
        data = codec.encode(pdu)
        buf = before + data + after
        start, end = len(before), len(before) + len(data)
        try:
            decoded = codec.decode_frame(buf, start, end)
        except DecodeError:
            return   # refused before anything is queued
        entry = adapt.upstream_delivery(decoded, "up", (decoded, buf, start, end))
        if type(entry) is not Receipt:
            return
        changed(entry, new_id, text, profile_text)
        general = replace(entry)   # the same receipt without its octets
        self.assertIsNone(general.wire)
        try:
            want = codec.encode(adapt.deliver_pdu(general))
        except Exception as e:   # the fast path must fail alike
            with self.assertRaises(type(e)):
                adapt.deliver_octets(entry)
            return
        self.assertEqual(adapt.deliver_octets(entry), want)

    @settings(max_examples=600, deadline=None)
    @given(st.lists(st.sampled_from(("receipted_message_id", "message_state")), min_size=2,
                    max_size=2, unique=True),
           st.one_of(st.text("ab\x00\xe9", max_size=4), st.integers(62, 67).map("a".__mul__),
                     st.integers(-2, 300), st.none(), st.binary(max_size=3)),
           st.one_of(st.integers(-2, 300), st.text(max_size=2), st.none(), st.booleans()),
           st.binary(max_size=8))
    def test_the_pair_joined_in_and_the_tail(self, order, rmid, state, tail):
        """deliver_octets' own join of a receipt's TLV pair (encode_tlvs' shortcut
        inline), and the queue's tail after the PDU, on any values in them."""
        pdu = P.DeliverSm(0, 9, source_addr="4479", destination_addr="ACME", esm_class=4,
                          short_message=b"id:ab12 sub:001")
        data = codec.encode(pdu)
        entry = adapt.upstream_delivery(pdu, "up", (pdu, data, 0, len(data)))
        entry.tlvs = {key: (rmid if key == "receipted_message_id" else state) for key in order}
        self.assertIsNotNone(entry.wire)
        try:
            want = codec.encode(adapt.deliver_pdu(replace(entry))) + tail
        except Exception:   # the fast path must fail too (as encode_tlvs does, unwrapped)
            with self.assertRaises(Exception):
                adapt.deliver_octets(entry, tail)
            return
        self.assertEqual(adapt.deliver_octets(entry, tail), want)

    def test_a_plain_receipt_keeps_its_octets(self):
        pdu = P.DeliverSm(0, 9, source_addr="4479", destination_addr="ACME", esm_class=4,
                          short_message=build_receipt("ab12", "2601011200", "2601011201",
                                                      "DELIVRD"),
                          tlvs={"receipted_message_id": "ab12", "message_state": 2})
        data = codec.encode(pdu)
        entry = adapt.upstream_delivery(pdu, "up", (pdu, data, 0, len(data)))
        self.assertEqual(entry.wire, data[16:16 + 16 + 4 + 4])
        self.assertEqual(adapt.deliver_octets(entry), data[:12] + b"\0\0\0\0" + data[16:])

    def test_each_field_a_router_leaves_empty_keeps_the_octets_off(self):
        base = P.DeliverSm(0, 9, source_addr="4479", destination_addr="ACME", esm_class=4,
                           short_message=b"id:ab12 sub:001", data_coding=8)
        for name, value in [("service_type", "CMT"), ("protocol_id", 1), ("priority_flag", 1),
                            ("schedule_delivery_time", "260101120000000R"),
                            ("validity_period", "260101120000000R"),
                            ("registered_delivery", 1), ("replace_if_present_flag", 1),
                            ("sm_default_msg_id", 1), ("esm_class", 0x44),
                            ("esm_class", 0x84), ("esm_class", 0x05), ("short_message", b"")]:
            pdu = replace(base, **{name: value})
            data = codec.encode(pdu)
            entry = adapt.upstream_delivery(pdu, "up", (pdu, data, 0, len(data)))
            self.assertIsNone(getattr(entry, "wire", None), name)
        data = codec.encode(base)
        self.assertIsNotNone(adapt.upstream_delivery(base, "up", (base, data, 0, len(data))).wire)

    def test_no_octets_without_the_frame_or_with_other_fields(self):
        pdu = P.DeliverSm(0, 9, service_type="CMT", esm_class=4, short_message=b"id:1 x")
        data = codec.encode(pdu)
        self.assertIsNone(adapt.upstream_delivery(pdu, "up", (pdu, data, 0, len(data))).wire)
        self.assertIsNone(adapt.upstream_delivery(replace(pdu, service_type=""), "up").wire)


_texts = st.one_of(
    st.builds(lambda i, s, t: build_receipt(i, "2601011200", "2601011201", s, text=t),
              # ids build_receipt takes: one printable word, not wrapped in quotes
              st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                      max_size=20).filter(lambda i: not (len(i) > 1 and i[0] in "'\""
                                                         and i[-1] == i[0])),
              st.sampled_from(("DELIVRD", "UNDELIV")), st.text(max_size=10)),
    st.builds(lambda head, rest: head + rest,
              st.sampled_from((b"id:", b"ID:", b"id: ", b"id:'", b"id:\x00", b"id:a\t",
                               b"id:ab ", b"id:ab  ", b"id:ab c", b"id:ab sub:", b"x id:")),
              st.binary(max_size=30)),
    st.binary(max_size=40),
    # a value of any octets (quotes, blanks, NULs, non-ASCII) before a usual next key
    st.builds(lambda value, rest: b"id:" + value + rest,
              st.binary(min_size=1, max_size=6).filter(lambda v: b" " not in v),
              st.sampled_from((b" sub:001 dlvrd:001", b" stat:DELIVRD", b" text:x", b" x"))),
)


class RewriteIdTests(SynchronousTestCase):
    @settings(max_examples=1000, deadline=None)
    @given(_texts, st.one_of(st.text("0123456789abcdef", min_size=1, max_size=12),
                             st.text(max_size=6)))
    def test_the_shortcut_is_the_general_loop(self, text, new_id):
        def outcome(f):
            try:
                return f(text, new_id)
            except ValueError as e:
                return ("ValueError", str(e))
        self.assertEqual(outcome(rewrite_id), outcome(_slow))


def _slow(text, new_id):
    from smpprouter.smpp.receipt import _check_token
    _check_token("id", new_id)
    return _rewrite_id(text, new_id)
